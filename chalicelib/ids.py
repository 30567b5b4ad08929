"""Identifiers: unguessable meeting ids, short participant ids, sortable sequence ids."""

import secrets
import time

TID_WIDTH = 12


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
