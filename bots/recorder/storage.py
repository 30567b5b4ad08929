"""Stores a finished file in S3 and lets go of the local copy only once S3 has all of it.

Key: `recordings/<mid>/<rid>/<file>`. boto3's transfer manager uploads in parts above
`multipart_threshold`. An attempt counts only when HeadObject then reports the local
size; until one does, the file stays on disk and the upload is tried again after a
backoff, so a store that is away for a while loses nothing.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from bots.recorder.retry import delays

log = logging.getLogger(__name__)

# status of a file in the recording's report and the callback: 0 is success
STORED, RECORDING_FAILED, UPLOAD_FAILED = 0, 1, 2
MiB = 1024 * 1024


@dataclass
class FileReport:
    file: str
    key: str
    status: int
    message: str
    size: int

    def json(self) -> dict:
        return asdict(self)


def short(text: str, limit: int = 400) -> str:
    """An error's text cut to fit a report (the API takes messages of up to 2000
    characters; a botocore error can quote a whole response)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def key_for(meeting: str, recording: str, file: str) -> str:
    return f"recordings/{meeting}/{recording}/{file}"


class SizeMismatch(Exception):
    pass


class Store:
    def __init__(self, s3, bucket: str, *, attempts: int = 8, first_delay: float = 2.0,
                 max_delay: float = 60.0, multipart_threshold: int = 16 * MiB,
                 part_size: int = 16 * MiB, sleep: Callable[[float], None] = time.sleep):
        self.s3, self.bucket = s3, bucket
        self.attempts, self.first_delay, self.max_delay = attempts, first_delay, max_delay
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold,
                                       multipart_chunksize=part_size, max_concurrency=4)
        self.sleep = sleep

    def put(self, path: Path, key: str) -> FileReport:
        """Upload `path` to `key` (blocking, with retries); deletes `path` once stored."""
        size = path.stat().st_size
        waits = delays(self.attempts, self.first_delay, self.max_delay)
        for attempt in range(1, self.attempts + 1):
            try:
                self.s3.upload_file(str(path), self.bucket, key, Config=self.transfer)
                stored = self.s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
                if stored != size:
                    raise SizeMismatch(f"S3 holds {stored} bytes of {size}")
            except (BotoCoreError, ClientError, S3UploadFailedError, SizeMismatch, OSError) as err:
                log.warning("upload of %s to s3://%s/%s, attempt %d of %d: %s", path.name,
                            self.bucket, key, attempt, self.attempts, err)
                last = err
                if attempt < self.attempts:
                    self.sleep(next(waits))
                continue
            path.unlink()
            log.info("stored s3://%s/%s (%d bytes)", self.bucket, key, size)
            return FileReport(path.name, key, STORED, "", size)
        return FileReport(path.name, key, UPLOAD_FAILED,
                          f"upload failed after {self.attempts} attempts ({short(str(last))}); "
                          f"the file is kept at {path}", size)


def s3_client(endpoint: str | None = None, region: str | None = None):
    """An S3 client for `endpoint` (another S3, such as the local stack's) or AWS's own.
    Path-style addressing works with both; botocore's own retries stay few and quick
    because Store.put retries whole uploads with a longer backoff."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10,
                    read_timeout=60, s3={"addressing_style": "path"} if endpoint else None)
    return boto3.client("s3", endpoint_url=endpoint or None, region_name=region, config=config)
