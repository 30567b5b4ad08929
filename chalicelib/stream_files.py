"""Files uploaded to be played into a meeting: they go straight from the browser to S3
(a presigned POST), never through the API, whose requests are capped far below a film.

S3 enforces what the POST allows: the one key, the declared content type, 1 byte up to
the configured maximum (`content-length-range`), for UPLOAD_SECONDS. The object is
looked at again (HeadObject) when a stream uses it, and its bot reads it through a
presigned GET. Keys: `streams/<mid>/uploads/<upload id>/<file name>` of the streams
bucket (PARLEY_STREAMS_BUCKET, by default the recordings bucket). Signing is local;
the function needs s3:PutObject (the POST is made with its credentials) and s3:GetObject
(HeadObject, the bot's link) on `streams/*`.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from .config import Settings, settings
from .storage import s3_client

PREFIX = "streams/"
UPLOAD_SECONDS = 3600  # the browser has an hour to send the file
READ_SECONDS = 6 * 3600  # the bot's link: a long film, or a bot restarted late
# What a browser may upload: containers and codecs PyAV (FFmpeg) reads.
CONTENT_TYPES = ("video/mp4", "video/webm", "video/quicktime", "video/x-matroska",
                 "audio/mpeg", "audio/mp4", "audio/ogg", "audio/wav")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(file_name: str) -> str:
    """A file name fit for a key: letters, digits, dot, dash and underscore (others
    become `_`), no leading dot, at most 100 characters; "media" when nothing is left."""
    name = _UNSAFE.sub("_", file_name.strip()).strip("._")[-100:].lstrip("._")
    return name or "media"


def upload_key(mid: str, upload_id: str, file_name: str) -> str:
    return f"{PREFIX}{mid}/uploads/{upload_id}/{safe_name(file_name)}"


@dataclass(frozen=True)
class Stored:
    """What S3 holds under a key."""

    size: int
    content_type: str


class StreamFiles:
    """The streams bucket: presigned POSTs and GETs, and a look at what was stored."""

    def __init__(self, s: Settings):
        self._settings = s
        self._client = None

    @property
    def bucket(self) -> str | None:
        return self._settings.streams_bucket

    @property
    def max_bytes(self) -> int:
        return self._settings.stream_max_bytes

    def _s3(self):
        if self._client is None:
            self._client = s3_client(self._settings)
        return self._client

    def upload_form(self, key: str, content_type: str) -> dict:
        """`{url, fields}` of a POST that stores one file of `content_type` at `key`."""
        return self._s3().generate_presigned_post(
            self.bucket, key, Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type},
                        ["content-length-range", 1, self.max_bytes]],
            ExpiresIn=UPLOAD_SECONDS)

    def stored(self, key: str) -> Stored | None:
        """The object at `key`, or None if nothing was stored there."""
        from botocore.exceptions import ClientError

        try:
            head = self._s3().head_object(Bucket=self.bucket, Key=key)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return Stored(int(head["ContentLength"]), head.get("ContentType", ""))

    def read_url(self, key: str) -> str:
        """A link the bot reads the file with (READ_SECONDS at most: a link signed with a
        function's temporary credentials ends with them, so a bot asks again on restart)."""
        return self._s3().generate_presigned_url(
            "get_object", ExpiresIn=READ_SECONDS, Params={"Bucket": self.bucket, "Key": key})


@lru_cache(maxsize=1)
def stream_files() -> StreamFiles:
    """The process-wide one (its S3 client is made once, on first use)."""
    return StreamFiles(settings())
