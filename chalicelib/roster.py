"""Who is in a meeting: one partition read, and the state changes that free a seat.

A seat is the meeting's `participant_count`; every transition out of `active` gives it
back in the same transaction, so the count and the roster never disagree.
"""

import logging
import time

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from .errors import ApiError
from .models import Item, Meeting, Participant, Secret, meeting_pk, now

log = logging.getLogger("parley")

# A participant with no WebSocket for this long loses their seat (reason "timeout").
STALE_SECONDS = 90


def load(mid: str) -> tuple[Meeting, Secret, list[Participant]]:
    """Meeting, secret and participants in one Query (sort keys META ≤ P#… ≤ SECRET)."""
    meeting, secret, members = None, None, []
    for item in Item.query(meeting_pk(mid), Item.sk.between("META", "SECRET"),
                           consistent_read=True):
        if isinstance(item, Meeting):
            meeting = item
        elif isinstance(item, Secret):
            secret = item
        elif isinstance(item, Participant):
            members.append(item)
    if meeting is None or secret is None:
        raise ApiError(404, "meeting_not_found", "There is no meeting with this link.")
    if meeting.state != "open":
        raise ApiError(410, "meeting_ended", "This meeting has ended.")
    return meeting, secret, members


def participants(mid: str) -> list[Participant]:
    return list(Participant.query(meeting_pk(mid), Participant.sk.startswith("P#")))


def is_stale(p: Participant, at: float) -> bool:
    if not p.active or p.connected:
        return False
    since = p.disconnected_at if p.disconnected_at is not None else p.joined_at.timestamp()
    return at - since > STALE_SECONDS


def expire_stale(meeting: Meeting, members: list[Participant]) -> list[Participant]:
    """Give back the seats of participants whose connection has been gone too long."""
    at = time.time()
    for p in members:
        if is_stale(p, at) and depart(meeting, p, "timeout"):
            meeting.participant_count -= 1
    return members


def depart(meeting: Meeting, p: Participant, reason: str) -> bool:
    """Move an active participant to `reason` (left/removed/timeout) and free the seat.

    Returns False if someone else already did (idempotent under retries and races).
    """
    try:
        with TransactWrite(connection=Item._get_connection().connection) as tx:
            tx.update(p, actions=[Participant.state.set(reason),
                                  Participant.disconnected_at.set(time.time())],
                      condition=Participant.state == "active")
            tx.update(meeting, actions=[Meeting.participant_count.add(-1)],
                      condition=Meeting.participant_count > 0)
    except TransactWriteError as err:
        if err.cause_response_code == "TransactionCanceledException":
            return False
        raise
    p.state = reason
    return True


def end(meeting: Meeting) -> bool:
    """End the meeting for everyone; False if it had already ended."""
    try:
        meeting.update(actions=[Meeting.state.set("ended")], condition=Meeting.state == "open")
    except UpdateError as err:
        if err.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    log.info("meeting %s ended at %s", meeting.mid, now().isoformat())
    return True
