"""Identifiers: unguessable meeting ids, short participant ids, sortable sequence ids, and
the check that a path parameter looks like one before any table is read."""

import re
import secrets
import time

from .errors import MeetingNotFound, ParticipantNotFound

TID_WIDTH = 12
ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
_ID = re.compile(ID_PATTERN)


def is_id(value: str) -> bool:
    return bool(_ID.match(value or ""))


def check_mid(mid: str) -> str:
    """`mid` if it can be a meeting id; 404 otherwise (nothing could be found under it)."""
    if not is_id(mid):
        raise MeetingNotFound()
    return mid


def check_pid(pid: str) -> str:
    if not is_id(pid):
        raise ParticipantNotFound()
    return pid


def meeting_id() -> str:
    """96 random bits, URL-safe (the meeting link is the only thing a guest needs)."""
    return secrets.token_urlsafe(12)


def participant_id() -> str:
    """72 random bits; participants compare ids to pick the polite WebRTC peer."""
    return secrets.token_urlsafe(9)


def host_key() -> str:
    return secrets.token_urlsafe(24)


def ticket_id(seq: int) -> str:
    """Per-recipient sequence number, zero padded so text order is numeric order."""
    return f"{seq:0{TID_WIDTH}d}"


def message_id() -> str:
    """Millisecond time prefix plus randomness: sorts by send time, never collides."""
    return f"{int(time.time() * 1000):013d}{secrets.token_hex(4)}"


def recording_id() -> str:
    """Sorts by creation time, like a chat message's id: a meeting's recordings list
    newest first from one backward Query."""
    return message_id()


def reaction_id() -> str:
    """Sorts by send time, like a chat message's id."""
    return message_id()


def stream_id() -> str:
    """Sorts by creation time, like a recording's id: a meeting's streams list newest
    first from one backward Query."""
    return message_id()


def upload_id() -> str:
    """96 random bits: an upload's id names its place in the bucket."""
    return secrets.token_urlsafe(12)
