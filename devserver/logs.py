"""Readable logs: one line per HTTP request, WebSocket event and stream batch, with latency.

The level comes from LOG_LEVEL (default INFO). Tokens never reach the log: the WebSocket
URL carries `?token=<jwt>`, so every logged URL goes through `redact` first, and a filter
on the handler scrubs anything that still looks like a token or bearer header.
"""

import logging
import os
import re
import time

FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)-6s %(message)s"
# Libraries whose own INFO/DEBUG lines would drown ours (botocore's DEBUG even dumps headers).
QUIET = ("botocore", "boto3", "urllib3", "s3transfer", "werkzeug", "pynamodb", "moto",
         "aiohttp", "asyncio", "websockets")
_SECRET = re.compile(r"([?&](?:token|access_token|hostKey|passcode)=)[^&#\s]*|(Bearer\s+)\S+",
                     re.IGNORECASE)
# A JWT wherever it is (`?%74oken=eyJ...` is a token parameter too once decoded).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def redact(text: str) -> str:
    """`/ws?token=eyJ...` -> `/ws?token=***` (also hostKey, passcode, bearer headers and
    anything shaped like a JWT)."""
    return _JWT.sub("***", _SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "***", text))


class _Redacting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup() -> None:
    name = os.environ.get("LOG_LEVEL", "INFO").upper()
    level = logging.getLevelName(name)
    if not isinstance(level, int):
        level = logging.INFO
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))
    handler.addFilter(_Redacting())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for lib in QUIET:
        logging.getLogger(lib).setLevel(max(level, logging.WARNING))
    if level != logging.getLevelName(name):
        logging.getLogger("devserver").warning("LOG_LEVEL=%s is not a level; using INFO", name)


class Stopwatch:
    """Milliseconds since creation, for the latency column of a log line."""

    def __init__(self):
        self._start = time.perf_counter()

    @property
    def ms(self) -> float:
        return (time.perf_counter() - self._start) * 1000
