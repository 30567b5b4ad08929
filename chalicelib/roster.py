"""Who is in a meeting, and every change to it: a seat taken, a seat given back, the
meeting ended, absent participants timed out. The only module that changes a
participant's state or the meeting's seat count.

A seat is the meeting's `participant_count`; taking one and every transition out of
`active` change the count and the participant in one transaction, so the count and the
roster never disagree.
"""

import logging
import time

from pynamodb.exceptions import TransactWriteError, UpdateError

from . import auth
from .errors import MeetingEnded, MeetingFull, MeetingLocked, MeetingNotFound, TryAgain
from .models import (
    ABSENCE_PK,
    META_SK,
    Absence,
    Item,
    Meeting,
    Participant,
    Secret,
    absences_before,
    condition_failed,
    hand_actions,
    meeting_pk,
    now,
    participant_sk,
    participants_range,
    roster_range,
    transaction,
)

log = logging.getLogger("parley")

# A participant with no open WebSocket for this long loses their seat (reason "timeout").
STALE_SECONDS = 90
SWEEP_LIMIT = 500  # absences handled per sweep; the rest wait for the next minute


def load(mid: str) -> tuple[Meeting, Secret, list[Participant]]:
    """The open meeting (404/410 otherwise), its secret and every participant ever in it."""
    meeting = auth.open_meeting(mid)
    secret, members = None, []
    for item in Item.query(meeting_pk(mid), roster_range(), consistent_read=True):
        if isinstance(item, Secret):
            secret = item
        elif isinstance(item, Participant):
            members.append(item)
    if secret is None:  # being purged: the secret goes before the meeting item
        raise MeetingNotFound()
    return meeting, secret, members


def members(mid: str) -> list[Participant]:
    """Everyone ever in the meeting, present or not (eventually consistent)."""
    return list(Participant.query(meeting_pk(mid), participants_range()))


def present(people: list[Participant]) -> list[Participant]:
    """The active participants, oldest first: the roster as every client shows it."""
    return sorted((p for p in people if p.active), key=lambda p: p.joined_at)


def take_seat(meeting: Meeting, participant: Participant) -> None:
    """Add `participant` if a seat is free and the meeting admits them (a host also gets
    into a locked meeting); otherwise raise why not. The newcomer has no socket yet, so
    their absence is noted in the same transaction."""
    participant.disconnected_at = time.time()
    seat_free = (Meeting.state == "open") & (Meeting.participant_count < meeting.max_participants)
    if participant.role != "host":
        seat_free &= Meeting.locked == False  # noqa: E712 (a PynamoDB condition, not a bool)
    try:
        with transaction() as tx:
            tx.update(meeting, actions=[Meeting.participant_count.add(1)], condition=seat_free)
            tx.save(participant, condition=Participant.pk.does_not_exist())
            tx.save(Absence.of(participant, participant.disconnected_at))
    except TransactWriteError as err:
        raise _refused(meeting, participant.role) from err
    meeting.participant_count += 1


def _refused(meeting: Meeting, role: str) -> Exception:
    """Why a seat transaction was cancelled, read back from the meeting."""
    meeting.refresh(consistent_read=True)
    if meeting.state != "open":
        return MeetingEnded()
    if meeting.locked and role != "host":
        return MeetingLocked()
    if meeting.participant_count >= meeting.max_participants:
        return MeetingFull()
    return TryAgain("Could not join right now; please retry.")


def depart(meeting: Meeting, p: Participant, reason: str, condition=None) -> bool:
    """Move an active participant to `reason` (left/removed/timeout), lower their hand and
    free the seat.

    `condition`: what else must still hold of the participant. Returns False if the
    participant had already gone or the condition no longer holds (idempotent under
    retries and races).
    """
    still = Participant.state == "active"
    if condition is not None:
        still &= condition
    try:
        with transaction() as tx:
            tx.update(p, actions=[Participant.state.set(reason),
                                  Participant.disconnected_at.set(time.time()),
                                  *hand_actions(False)],
                      condition=still)
            tx.update(meeting, actions=[Meeting.participant_count.add(-1)],
                      condition=Meeting.participant_count > 0)
    except TransactWriteError as err:
        if condition_failed(err):
            return False
        raise TryAgain() from err
    p.state, p.hand, p.hand_raised_at, p.hand_lowered_by = reason, False, None, None
    return True


def is_stale(p: Participant, at: float) -> bool:
    return p.active and not p.connected and at - p.absent_since > STALE_SECONDS


def time_out(meeting: Meeting, p: Participant, at: float) -> bool:
    """Time out `p` if they have had no open connection for STALE_SECONDS at `at`; checked
    by DynamoDB at the moment of writing, so a socket that just opened keeps its seat."""
    cutoff = at - STALE_SECONDS
    still_absent = Participant.connections.does_not_exist() & (
        Participant.disconnected_at <= cutoff)
    return depart(meeting, p, "timeout", condition=still_absent)


def expire_stale(meeting: Meeting, people: list[Participant]) -> list[Participant]:
    """Give back the seats of participants whose connection has been gone too long."""
    at = time.time()
    for p in people:
        if is_stale(p, at) and time_out(meeting, p, at):
            meeting.participant_count -= 1
    return people


def note_absent(p: Participant, since: float) -> None:
    """`p` has no open connection since `since`: the sweep looks again once it is due."""
    Absence.of(p, since).save()


def excuse_absences(at: float) -> int:
    """Whoever is present without a socket counts as absent from `at`, not from earlier.

    For the local stack after a restart: the time it was down is not held against anyone's
    seat, since no page could reconnect meanwhile. Returns how many were excused.
    """
    excused = 0
    for p in Participant.scan(Participant.state == "active", consistent_read=True):
        if p.connected:
            continue
        try:
            p.update(actions=[Participant.disconnected_at.set(at)],
                     condition=(Participant.state == "active")
                     & Participant.connections.does_not_exist())
        except UpdateError as err:
            if not condition_failed(err):
                raise
            continue
        note_absent(p, at)
        excused += 1
    return excused


def sweep(at: float | None = None) -> dict:
    """Time out everyone whose absence is due (run every minute).

    An absence is only a note to look: whether the participant came back, left or was
    timed out at a join meanwhile is decided by `time_out`'s conditions. The note is
    deleted once looked at; one that fails stays for the next run.
    """
    at = time.time() if at is None else at
    counts = {"due": 0, "timed_out": 0}
    for absence in Absence.query(ABSENCE_PK, absences_before(at - STALE_SECONDS),
                                 consistent_read=True, limit=SWEEP_LIMIT):
        counts["due"] += 1
        meeting = Meeting(meeting_pk(absence.mid), META_SK)
        p = Participant(meeting_pk(absence.mid), participant_sk(absence.pid))
        if time_out(meeting, p, at):
            counts["timed_out"] += 1
        absence.delete()
    if counts["due"]:
        log.info("sweep: %(timed_out)d of %(due)d due absences timed out", counts)
    return counts


def end(meeting: Meeting) -> bool:
    """End the meeting for everyone; False if it had already ended."""
    try:
        meeting.update(actions=[Meeting.state.set("ended")], condition=Meeting.state == "open")
    except UpdateError as err:
        if condition_failed(err):
            return False
        raise
    log.info("meeting %s ended at %s", meeting.mid, now().isoformat())
    return True
