"""Token-bucket rate limits: tickets, chat, reactions, poll votes and moderators' requests
(mute, ask to unmute, camera off, mute all, role changes, polls created or closed) per
participant, creates and joins per client address.

Buckets live in the function's memory. On the local stack (one process) that is the
whole limit; in AWS each warm Lambda instance keeps its own buckets, and API Gateway's
stage throttling (set by the deploy) bounds the total — no extra table write per request.
"""

import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from .config import settings
from .errors import RateLimited


@dataclass(frozen=True)
class Limit:
    burst: float       # bucket size
    per_second: float  # refill rate


DEFAULTS = {
    "create": Limit(burst=10, per_second=1 / 6),    # per client IP: 10 at once, then 10/min
    "join": Limit(burst=20, per_second=1 / 3),      # per client IP: 20 at once, then 20/min
    "ticket": Limit(burst=120, per_second=30),      # per participant: a 7-peer renegotiation fits
    "message": Limit(burst=10, per_second=1),       # per participant: chat
    "reaction": Limit(burst=8, per_second=2),       # per participant: emoji reactions
    "moderate": Limit(burst=20, per_second=1),      # per moderator: mute/unmute/camera asks, polls
    "vote": Limit(burst=10, per_second=1),          # per participant: poll votes
}
MAX_KEYS = 50_000  # forget the least recently used buckets beyond this


class Buckets:
    def __init__(self, limits: dict[str, Limit] | None = None):
        self.limits = dict(DEFAULTS, **(limits or {}))
        self._state: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, kind: str, key: str, now: float | None = None) -> None:
        """Take one token for (kind, key) or raise 429 with Retry-After."""
        limit = self.limits[kind]
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, stamp = self._state.pop((kind, key), (limit.burst, now))
            tokens = min(limit.burst, tokens + (now - stamp) * limit.per_second)
            if tokens < 1:
                self._state[(kind, key)] = (tokens, now)
                wait = max(1, math.ceil((1 - tokens) / limit.per_second))
                raise RateLimited(wait)
            self._state[(kind, key)] = (tokens - 1, now)
            if len(self._state) > MAX_KEYS:
                self._state.pop(next(iter(self._state)))


def parse(spec: str) -> dict[str, Limit]:
    """`join=20/0.33,ticket=120/30` → limits (burst/per-second); used for PARLEY_RATE_LIMITS."""
    limits = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, value = part.partition("=")
        burst, _, rate = value.partition("/")
        limits[kind.strip()] = Limit(float(burst), float(rate))
    return limits


@lru_cache(maxsize=1)
def buckets() -> Buckets:
    """The process-wide buckets, with overrides from PARLEY_RATE_LIMITS."""
    return Buckets(parse(settings().rate_limits))


def client_ip(request) -> str:
    identity = (request.context or {}).get("identity") or {}
    return identity.get("sourceIp") or "unknown"
