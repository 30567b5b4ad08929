"""moto's S3 and SES on a port of their own, so recordings and emails work with no account.

The app and the bots reach them exactly as they reach AWS, through boto3 with an endpoint
(PARLEY_S3_ENDPOINT, PARLEY_SES_ENDPOINT). The embedded DynamoDB stays a server of its own:
its overrides (one request at a time, no per-request service lookup) fit DynamoDB only,
while this one uses moto's general dispatcher, which tells S3 from SES by each request's
signature (presigned download links included, so a browser on this machine can follow one).

SES accepts mail only from verified senders, as a new AWS account's sandbox does: the
stack's sender is verified at start. Nothing leaves the machine; what was "sent" is kept
and listed at GET /local/mail (`outbox`), newest last.

Pages upload files for streams straight to this S3 (a presigned POST from another origin):
the bucket allows the stack's own origins (CORS, set at start), and s3_uploads.py checks
each form against its policy as S3 does (moto does not), so an upload over the limit is
refused before it is stored.

S3 holds objects in memory; with a data directory they are copied to `<data dir>/s3/` when
the stack stops and put back when it starts (`keep_objects` / `restore_objects`), so a
restart keeps the recordings and uploads.
"""

import logging
import threading
from pathlib import Path

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.s3.models import s3_backends
from moto.ses.models import ses_backends
from werkzeug.serving import make_server

from .s3_uploads import PostPolicy

log = logging.getLogger("devserver")

BUCKET = "parley-recordings"
SENDER = "Parley <no-reply@parley.localhost>"
SENDER_ADDRESS = "no-reply@parley.localhost"
SECRET_KEY = "local"  # noqa: S105 (moto's dummy key; the app signs uploads with it too)


class EmbeddedServices:
    """`EmbeddedServices(region, origins=[...]).start()`; `.endpoint` is its http URL,
    `.bucket` the bucket it created (recordings, and uploads for streams), whose CORS
    lets pages of `origins` upload to it."""

    def __init__(self, region: str, host: str = "127.0.0.1", bucket: str = BUCKET,
                 origins: tuple[str, ...] = (), app_secret: str | None = SECRET_KEY):
        """`app_secret`: the secret key the app signs upload forms with (None: unknown,
        e.g. a profile's; their signatures are then not checked)."""
        self.region = region
        self.bucket = bucket
        self.origins = tuple(origins)
        app = PostPolicy(DomainDispatcherApplication(create_backend_app), app_secret,
                         self._cors_rules)
        self._server = make_server(host, 0, app, threaded=True,
                                   request_handler=MotoRequestHandler)
        self._thread = None

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="embedded-s3-ses")
        self._thread.start()
        s3 = self.client("s3")
        s3.create_bucket(Bucket=self.bucket)
        if self.origins:
            s3.put_bucket_cors(Bucket=self.bucket, CORSConfiguration={"CORSRules": [{
                "AllowedOrigins": list(self.origins), "AllowedMethods": ["POST"],
                "AllowedHeaders": ["*"], "MaxAgeSeconds": 3600}]})
        self.client("ses").verify_email_identity(EmailAddress=SENDER_ADDRESS)

    def stop(self) -> None:
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._server.server_close()

    def client(self, service: str):
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint,
                            aws_access_key_id="local", aws_secret_access_key=SECRET_KEY)

    def _cors_rules(self, bucket: str) -> list:
        """The bucket's CORS rules as S3 holds them: (origins, methods, exposed headers)."""
        try:
            rules = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket_cors(bucket)
        except Exception:  # no such bucket: S3 answers the POST itself
            return []
        return [(r.allowed_origins or [], r.allowed_methods or [], r.exposed_headers or [])
                for r in rules]

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
