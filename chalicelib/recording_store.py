"""A recording's life in the table: created one at a time per meeting, moved from state to
state by conditional writes, and the meeting's mirror of it kept in step.

States: starting → recording → stopping → uploading → done | failed. The server starts a
recording (`starting`) and stops one (`stopping`: a moderator's DELETE, the meeting's
end); everything else is reported by the recording's own bot (`BOT_MOVES`). The first
four states are active, and a meeting has at most one active recording: its item
`Meeting.recording_id` names it, and the transaction that creates a recording sets it
on condition that it is absent, so of two starts at once exactly one succeeds. Every
change of state writes the recording (on condition that its state is still the one
read) and the meeting's mirror (`recording_state`, removed at done/failed) in one
transaction, so the meeting object never shows a recording in another state than its
own. A recording whose bot never came or stopped answering would hold the meeting for
ever; `abandoned` tells when a new start may fail it instead.
"""

import logging
import random
import time
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from . import roster
from .errors import MeetingEnded, RecordingActive, TryAgain
from .models import (
    META_SK,
    Meeting,
    Participant,
    Recording,
    condition_failed,
    conflicted,
    meeting_pk,
    now,
    recording_sk,
    transaction,
)

log = logging.getLogger("parley")

# What the recording's bot may move it to, from each state (a repeat of the state it is
# in is a no-op: a retried report). `stopping` is never the bot's: it stops by itself
# (the meeting left to bots, removed) by reporting `uploading` or `failed`.
BOT_MOVES = {
    "starting": ("recording", "uploading", "failed"),
    "recording": ("uploading", "failed"),
    "stopping": ("uploading", "failed"),
    "uploading": ("done", "failed"),
}
STOPPABLE = ("starting", "recording")  # what a stop moves to `stopping`; later ones go on
FINAL = ("done", "failed")
CAPTURING = ("starting", "recording")  # leaving these ends the recording (`ended_at`)
# With no bot of it present: starting this long (Fargate pulls the image and starts in a
# minute or two), or stopping this long (the bot leaves, then reports uploading).
START_TIMEOUT = timedelta(minutes=10)
STOP_TIMEOUT = timedelta(minutes=5)
ATTEMPTS = 6  # a write that keeps colliding with another transaction gives up: 503


def bot_may_move(old: str, new: str) -> bool:
    return new == old or new in BOT_MOVES.get(old, ())


def _jitter(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.004 * (attempt + 1)))  # noqa: S311 (jitter)


def _meeting(mid: str) -> Meeting:
    return Meeting(meeting_pk(mid), META_SK)


def create(meeting: Meeting, recording: Recording) -> None:
    """Store `recording` (state starting) as the meeting's active one: 409
    `recording_active` if it has one already, 410 if it ended meanwhile."""
    mirror = [Meeting.recording_id.set(recording.rid),
              Meeting.recording_mode.set(recording.mode),
              Meeting.recording_state.set(recording.state)]
    free = (Meeting.state == "open") & Meeting.recording_id.does_not_exist()
    for attempt in range(ATTEMPTS):
        try:
            with transaction() as tx:
                tx.update(meeting, actions=mirror, condition=free)
                tx.save(recording, condition=Recording.pk.does_not_exist())
        except TransactWriteError as err:
            if condition_failed(err):
                meeting.refresh(consistent_read=True)
                if meeting.state != "open":
                    raise MeetingEnded() from err
                if meeting.recording_id:
                    raise RecordingActive() from err
                continue  # the active one finished just now: try again
            if not conflicted(err):
                raise TryAgain("Could not start the recording; please retry.") from err
            _jitter(attempt)
            continue
        meeting.recording_id = recording.rid
        meeting.recording_mode = recording.mode
        meeting.recording_state = recording.state
        log.info("meeting %s: recording %s (%s) starting", recording.mid, recording.rid,
                 recording.mode)
        return
    raise TryAgain("Could not start the recording; please retry.")


def move(recording: Recording, to: str, more: list | None = None) -> bool:
    """Move `recording` from the state it was read in to `to`, with `more` writes to it,
    and the meeting's mirror in the same transaction. True when done (`recording` is then
    read again); False if its state changed meanwhile (`recording` is read again, for the
    caller to decide anew)."""
    actions = [Recording.state.set(to), *(more or [])]
    if to == "recording" and recording.started_at is None:
        actions.append(Recording.started_at.set(now()))
    if recording.state in CAPTURING and to not in CAPTURING and recording.ended_at is None:
        actions.append(Recording.ended_at.set(now()))
    if to in FINAL:
        mirror = [Meeting.recording_id.remove(), Meeting.recording_mode.remove(),
                  Meeting.recording_state.remove()]
    else:
        mirror = [Meeting.recording_state.set(to)]
    for attempt in range(ATTEMPTS):
        try:
            with transaction() as tx:
                tx.update(recording, actions=actions,
                          condition=Recording.state == recording.state)
                tx.update(_meeting(recording.mid), actions=mirror,
                          condition=Meeting.recording_id == recording.rid)
        except TransactWriteError as err:
            if condition_failed(err):
                read = recording.state
                recording.refresh(consistent_read=True)
                if recording.state == read:  # the meeting's mirror names another one
                    log.error("meeting %s: recording %s is not the meeting's active one",
                              recording.mid, recording.rid)
                    raise TryAgain() from err
                return False
            if not conflicted(err):
                raise TryAgain() from err
            _jitter(attempt)
            continue
        old = recording.state
        recording.refresh(consistent_read=True)
        log.info("meeting %s: recording %s %s -> %s", recording.mid, recording.rid, old, to)
        return True
    raise TryAgain()


def amend(recording: Recording, more: list) -> bool:
    """Write `more` to `recording` while its state is still the one read (a report that
    changes no state: files, an error). False if the state changed meanwhile."""
    try:
        recording.update(actions=more, condition=Recording.state == recording.state)
    except UpdateError as err:
        if condition_failed(err):
            recording.refresh(consistent_read=True)
            return False
        raise
    return True


def stop(recording: Recording) -> bool:
    """Ask the recording to stop: starting or recording → stopping (its bot hears it and
    finishes). False when it was already past that (stopping, uploading, done, failed):
    nothing is written."""
    while recording.state in STOPPABLE:
        if move(recording, "stopping"):
            return True
    return False


def fail(recording: Recording, error: str) -> bool:
    """Mark an active recording failed with `error` (its launch failed, or it was
    abandoned); False if it had finished meanwhile."""
    while recording.active:
        if move(recording, "failed", [Recording.error.set(error)]):
            return True
    return False


def stop_active(meeting: Meeting) -> bool:
    """The meeting ended: its active recording, if it is still capturing, stops."""
    if not meeting.recording_id or meeting.recording_state not in STOPPABLE:
        return False
    try:
        recording = Recording.get(meeting_pk(meeting.mid), recording_sk(meeting.recording_id),
                                  consistent_read=True)
    except DoesNotExist:
        return False
    return stop(recording)


def abandoned(recording: Recording, people: list[Participant], at=None) -> bool:
    """Whether an active recording will never finish: no bot of it is present, and it
    has been starting for START_TIMEOUT (its bot never came, or died before recording)
    or stopping for STOP_TIMEOUT (its bot died: a stopped bot reports uploading)."""
    at = at or now()
    if any(p.role == "bot" and p.recording_id == recording.rid
           for p in roster.present(people)):
        return False
    if recording.state == "starting":
        return at - recording.created_at > START_TIMEOUT
    if recording.state == "stopping":
        return at - (recording.ended_at or recording.created_at) > STOP_TIMEOUT
    return False
