"""Passcode hashing (scrypt, per-meeting salt) and the wrong-guess limiter.

The limiter reserves an attempt with a conditional update *before* the passcode is
checked, so any number of concurrent guesses still gets at most MAX_ATTEMPTS checks per
window; a correct passcode hands its reservation back.
"""

import base64
import hashlib
import hmac
import math
import secrets
import time

from pynamodb.exceptions import UpdateError

from .errors import TooManyAttempts
from .models import Secret, condition_failed

MAX_ATTEMPTS = 5
WINDOW_SECONDS = 600
_N, _R, _P = 2**14, 8, 1


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_passcode(passcode: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(passcode.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def check_passcode(passcode: str, stored: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(passcode.encode(), salt=_unb64(salt), n=int(n), r=int(r),
                               p=int(p), dklen=32)
    return hmac.compare_digest(candidate, _unb64(digest))


def hash_host_key(key: str) -> str:
    """Host keys carry 192 random bits: a plain SHA-256 keeps them out of the table."""
    return hashlib.sha256(key.encode()).hexdigest()


def check_host_key(key: str, stored: str) -> bool:
    return hmac.compare_digest(hash_host_key(key), stored)


def _locked_out(window_start: float, now: float) -> TooManyAttempts:
    return TooManyAttempts(max(1, math.ceil(window_start + WINDOW_SECONDS - now)))


def reserve_attempt(secret: Secret) -> None:
    """Count one passcode check against the window, or raise 429 if the window is used up."""
    now = time.time()
    window_open = Secret.window_start > now - WINDOW_SECONDS
    try:
        secret.update(actions=[Secret.attempts.add(1)],
                      condition=window_open & (Secret.attempts < MAX_ATTEMPTS))
        return
    except UpdateError as err:
        if not condition_failed(err):
            raise
    secret.refresh(consistent_read=True)
    if secret.window_start > now - WINDOW_SECONDS:
        if (secret.attempts or 0) >= MAX_ATTEMPTS:
            raise _locked_out(secret.window_start, now)
        reserve_attempt(secret)  # a concurrent guess opened the window just now: count in it
        return
    try:  # the window has expired: start a new one, unless a concurrent request just did
        secret.update(actions=[Secret.attempts.set(1), Secret.window_start.set(now)],
                      condition=Secret.window_start == secret.window_start)
    except UpdateError as err:
        if not condition_failed(err):
            raise
        reserve_attempt(secret)


def release_attempt(secret: Secret) -> None:
    """A correct passcode does not count as a wrong guess."""
    try:
        secret.update(actions=[Secret.attempts.add(-1)], condition=Secret.attempts > 0)
    except UpdateError as err:
        if not condition_failed(err):
            raise
