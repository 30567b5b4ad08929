"""Opening a source with FFmpeg (PyAV), and saying in plain words why it failed.

Sources are the contract's: http(s) (a file, an S3 presigned URL, an HLS playlist) and
rtmp(s). FFmpeg is told to use only the network protocols those need: an HLS playlist
that names a `file:` segment (a known way to make a server read its own disk) is
refused. Every blocking step is bounded: PyAV interrupts an open that takes longer than
`open_timeout` and any read that takes longer than `read_timeout`, so a host that
accepts and never answers cannot hold the bot.
"""

import errno
from dataclasses import dataclass
from urllib.parse import urlsplit

import av

SCHEMES = ("http", "https", "rtmp", "rtmps")
# What those schemes are made of inside FFmpeg (HLS opens its segments through these too).
PROTOCOLS = "http,https,tls,tcp,crypto,rtmp,rtmps,rtmpt,rtmpts"
OPEN_TIMEOUT = 5.0
READ_TIMEOUT = 8.0


class SourceError(Exception):
    """The source cannot be played; the message is for the host (no URL: a presigned one
    is a credential)."""


@dataclass(frozen=True)
class Timeouts:
    open: float = OPEN_TIMEOUT
    read: float = READ_TIMEOUT


def options(url: str, live: bool, timeouts: Timeouts) -> dict[str, str]:
    """FFmpeg options for `url`: protocols allowed, network timeouts, and for http(s) a
    reconnect when a server closes a long download half way."""
    opts = {"protocol_whitelist": PROTOCOLS, "rw_timeout": str(int(timeouts.read * 1e6))}
    if urlsplit(url).scheme in ("http", "https"):
        opts |= {"reconnect": "1", "reconnect_delay_max": "2", "seg_max_retry": "2"}
        if not live:
            opts["reconnect_streamed"] = "1"
    return opts


def open_container(url: str, live: bool, timeouts: Timeouts = Timeouts()):
    """An av InputContainer of `url` with at least one audio or video stream; SourceError
    otherwise. Blocks: call it off the event loop."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise SourceError(f"a source must be an {', '.join(SCHEMES)} URL, not {scheme or 'a path'}")
    try:
        # container_options, not options: PyAV copies `options` for each stream the
        # source has when opened, and frees a copy for each it has after probing; an
        # RTMP (FLV) source has none until probed, and that crashes the process.
        container = av.open(url, container_options=options(url, live, timeouts),
                            timeout=(timeouts.open, timeouts.read))
    except Exception as err:
        raise SourceError(describe(err, opening=True, timeout=timeouts.open)) from None
    if not container.streams.video and not container.streams.audio:
        container.close()
        raise SourceError("the source has neither pictures nor sound")
    return container


def describe(err: BaseException, opening: bool = False, timeout: float = READ_TIMEOUT) -> str:
    """A reason for the host: what went wrong, without the URL FFmpeg puts in its message."""
    if isinstance(err, SourceError):
        return str(err)
    if isinstance(err, av.error.ExitError):  # PyAV's interrupt: the timeout ran out
        return (f"no answer from the source within {timeout:g} s" if opening
                else f"the source stopped sending for {timeout:g} s")
    if isinstance(err, av.error.HTTPError):
        return f"the source's server answered: {err.strerror}"
    if isinstance(err, av.error.InvalidDataError):
        return ("not a media file FFmpeg can read (invalid data)" if opening
                else "the source sent data that cannot be decoded")
    if isinstance(err, av.error.FFmpegError) or isinstance(err, OSError):
        code = getattr(err, "errno", None)
        text = getattr(err, "strerror", None) or errno.errorcode.get(code or 0) or type(err).__name__
        where = "cannot reach the source" if opening else "reading the source failed"
        return f"{where}: {text}"
    return f"{type(err).__name__}: {err}"[:300]
