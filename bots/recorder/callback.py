"""Tells the recording's callbackUrl how it went, once the files are stored:
POST `{"meetingId", "recordingId", "files": [{"file", "status", "message"}]}` (status 0:
stored; otherwise a code and a message).

Retried with backoff on network errors, 429 and 5xx; another 4xx is the receiver's
final answer. Redirects are not followed (a 3xx is an answer too): the server checked
the URL it was given, not wherever a redirect would lead. For the same reason a host
that resolves to a link-local address (where cloud metadata services live) is refused.
"""

import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

from bots.recorder.retry import delays

log = logging.getLogger(__name__)
TIMEOUT = 10


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx


_OPENER = urllib.request.build_opener(_NoRedirect)


def body(meeting: str, recording: str, files: list[dict]) -> dict:
    return {"meetingId": meeting, "recordingId": recording,
            "files": [{"file": f["file"], "status": f["status"], "message": f["message"]}
                      for f in files]}


def _refused(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        return None  # a lookup failure is a network error: the attempt will show it
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address.is_link_local or address.is_multicast or address.is_unspecified:
            return f"{parts.hostname} resolves to {address}"
    return None


def notify(url: str, payload: dict, *, attempts: int = 6, first_delay: float = 2.0,
           max_delay: float = 60.0, sleep: Callable[[float], None] = time.sleep) -> bool:
    """POST `payload` to `url` (blocking, with retries); True once a 2xx answered."""
    data = json.dumps(payload).encode()
    waits = delays(attempts, first_delay, max_delay)
    for attempt in range(1, attempts + 1):
        refused = _refused(url)
        if refused:
            log.error("callback %s refused: %s", url, refused)
            return False
        request = urllib.request.Request(url, data=data, method="POST",  # noqa: S310 (http(s) checked above)
                                         headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(request, timeout=TIMEOUT) as resp:
                log.info("callback %s answered %d", url, resp.status)
                return True
        except urllib.error.HTTPError as err:
            retry = err.code == 429 or err.code >= 500
            log.warning("callback %s answered %d (attempt %d of %d)", url, err.code, attempt,
                        attempts)
            if not retry:
                return False
        except (OSError, ValueError) as err:  # URLError, timeouts, refused connections
            log.warning("callback %s failed (attempt %d of %d): %s", url, attempt, attempts, err)
        if attempt < attempts:
            sleep(next(waits))
    return False
