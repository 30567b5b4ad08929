"""moto's S3 and SES on a port of their own, so recordings and emails work with no account.

The app and the bots reach them exactly as they reach AWS, through boto3 with an endpoint
(PARLEY_S3_ENDPOINT, PARLEY_SES_ENDPOINT). The embedded DynamoDB stays a server of its own:
its overrides (one request at a time, no per-request service lookup) fit DynamoDB only,
while this one uses moto's general dispatcher, which tells S3 from SES by each request's
signature (presigned download links included, so a browser on this machine can follow one).

SES accepts mail only from verified senders, as a new AWS account's sandbox does: the
stack's sender is verified at start. Nothing leaves the machine; what was "sent" is kept
and listed at GET /local/mail (`outbox`), newest last.

S3 holds objects in memory; with a data directory they are copied to `<data dir>/s3/` when
the stack stops and put back when it starts (`keep_objects` / `restore_objects`), so a
restart keeps the recordings.
"""

import logging
from pathlib import Path

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.ses.models import ses_backends

log = logging.getLogger("devserver")

BUCKET = "parley-recordings"
SENDER = "Parley <no-reply@parley.localhost>"
SENDER_ADDRESS = "no-reply@parley.localhost"


class EmbeddedServices:
    """`EmbeddedServices().start()`; `.endpoint` is its http URL, `.bucket` the recordings
    bucket it created."""

    def __init__(self, region: str, host: str = "127.0.0.1", bucket: str = BUCKET):
        self.region = region
        self.bucket = bucket
        self._server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)

    @property
    def endpoint(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._server.start()
        self.client("s3").create_bucket(Bucket=self.bucket)
        self.client("ses").verify_email_identity(EmailAddress=SENDER_ADDRESS)

    def stop(self) -> None:
        self._server.stop()

    def client(self, service: str):
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint,
                            aws_access_key_id="local",
                            aws_secret_access_key="local")  # noqa: S106 (moto's dummy key)

    def settings(self) -> dict:
        """The app's settings (docs/API.md) that point it at these services."""
        return {"PARLEY_S3_ENDPOINT": self.endpoint, "PARLEY_SES_ENDPOINT": self.endpoint,
                "PARLEY_RECORDINGS_BUCKET": self.bucket, "PARLEY_REPORT_SENDER": SENDER}

    def outbox(self) -> list[dict]:
        """Every email sent through this SES, oldest first."""
        backend = ses_backends[DEFAULT_ACCOUNT_ID][self.region]
        mail = []
        for message in backend.sent_messages:
            mail.append({"id": message.id, "source": message.source,
                         "to": list(message.destinations.get("ToAddresses", [])),
                         "subject": getattr(message, "subject", None),
                         "body": getattr(message, "body", None)})
        return mail

    def keep_objects(self, folder: Path) -> int:
        """Copy the bucket's objects into `folder` (ones already there with the same size
        are skipped); return how many were written."""
        s3 = self.client("s3")
        written = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", ()):
                path = _path_in(folder, item["Key"])
                if path is None or (path.exists() and path.stat().st_size == item["Size"]):
                    continue
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                s3.download_file(self.bucket, item["Key"], str(path))
                written += 1
        return written

    def restore_objects(self, folder: Path) -> int:
        """Put the objects kept in `folder` back into the bucket; return how many."""
        if not folder.is_dir():
            return 0
        s3 = self.client("s3")
        restored = 0
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            s3.upload_file(str(path), self.bucket, path.relative_to(folder).as_posix())
            restored += 1
        return restored


def _path_in(folder: Path, key: str) -> Path | None:
    """Where an object is kept; None for a key that would leave `folder`."""
    path = (folder / key).resolve()
    if not key or key.endswith("/") or not path.is_relative_to(folder.resolve()):
        log.warning("object %r not kept: its key is not a plain relative path", key)
        return None
    return path


def objects_folder(data_dir: Path) -> Path:
    return data_dir / "s3"
