"""What a stream plays: a file uploaded to the meeting (`upload:<id>`) or a URL, checked
before any stream is stored, and the title its tile shows.

An upload must be one of this meeting's, and its object must be in the bucket with a
size and content type still within the limits (checked again: the POST's conditions
are S3's to enforce, and a bucket can be written by other means). A URL is http or
https (a file, an HLS playlist) or rtmp/rtmps; outside the local stack its host must
resolve to public addresses only (addresses.py).
"""

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from pynamodb.exceptions import DoesNotExist

from . import addresses
from .errors import (
    InvalidRequest,
    InvalidSourceUrl,
    UnsupportedMediaType,
    UploadNotFound,
    UploadTooLarge,
)
from .ids import is_id
from .models import Upload, meeting_pk, upload_sk
from .stream_files import CONTENT_TYPES, StreamFiles

UPLOAD = "upload:"
SOURCES = addresses.Rules("The source URL",
                          {"http": 80, "https": 443, "rtmp": 1935, "rtmps": 443},
                          InvalidSourceUrl)
TITLE_LENGTH = 40
MEDIA_EXTENSIONS = {".mp4", ".m4v", ".webm", ".mov", ".mkv", ".mp3", ".m4a", ".ogg", ".oga",
                    ".wav", ".m3u8", ".ts", ".flv"}  # dropped from a default title


@dataclass(frozen=True)
class Source:
    """A checked source: as given, the S3 key of an upload (None for a URL), and the
    name it suggests for a title."""

    source: str
    key: str | None
    name: str


def check_content_type(content_type: str) -> str:
    if content_type not in CONTENT_TYPES:
        raise UnsupportedMediaType(f"Files of type {content_type} cannot be played; use one "
                                   f"of {', '.join(CONTENT_TYPES)}.")
    return content_type


def check_size(size: int, files: StreamFiles) -> int:
    if size > files.max_bytes:
        raise UploadTooLarge(f"That file is larger than {files.max_bytes} bytes, the most "
                             "this server accepts.")
    return size


def upload(mid: str, source: str, files: StreamFiles) -> Source:
    """`upload:<id>`: one of meeting `mid`'s uploads, stored and within the limits."""
    upload_id = source[len(UPLOAD):]
    try:
        item = Upload.get(meeting_pk(mid), upload_sk(upload_id), consistent_read=True) \
            if is_id(upload_id) else None
    except DoesNotExist:
        item = None
    stored = files.stored(item.key) if item is not None else None
    if stored is None:
        raise UploadNotFound()
    check_size(stored.size, files)
    check_content_type(stored.content_type)
    return Source(source, item.key, item.file_name)


def url(source: str, allow_private: bool, resolver=addresses.resolve) -> Source:
    """An http(s) or rtmp(s) URL a bot may read. Where private addresses are allowed (the
    local stack) the host is not looked up: one that does not resolve fails the stream
    when its bot tries, as an unreachable one does."""
    addresses.check(source, SOURCES, allow_private=allow_private, lookup=not allow_private,
                    resolver=resolver)
    parts = urlsplit(source)
    # an RTMP path ends with the stream's key, which may be secret: the host names it
    name = "" if parts.scheme.startswith("rtmp") else unquote(posixpath.basename(parts.path))
    return Source(source, None, name or parts.hostname)


def check(mid: str, source: str, mode: str, files: StreamFiles, allow_private: bool,
          resolver=addresses.resolve) -> Source:
    if source.startswith(UPLOAD):
        if mode == "live":
            raise InvalidRequest("Invalid request: a live stream plays a URL, not an "
                                 "uploaded file.")
        return upload(mid, source, files)
    return url(source, allow_private, resolver)


def title(given: str | None, source: Source) -> str:
    """The title given, else the source's file name without a media extension, cut to
    TITLE_LENGTH characters, without control characters; "Media" if nothing is left."""
    if given is not None:
        return given.strip()
    stem, ext = posixpath.splitext(source.name)
    name = stem if stem and ext.lower() in MEDIA_EXTENSIONS else source.name
    name = "".join(c if c.isprintable() else " " for c in name).strip()
    return name[:TITLE_LENGTH].strip() or "Media"
