"""A bot's job in the table (a recording, a stream): created one at a time per meeting,
moved from state to state by conditional writes, and the meeting's mirror of it kept in
step. recording_store.py and stream_store.py describe their kind (`JobKind`); the writes
are the same for both.

A meeting has at most one active job of each kind: the meeting's mirror of it (its id,
say `Meeting.recording_id`) names it, and the transaction that creates a job sets the
mirror on condition that it is absent, so of two starts at once exactly one succeeds.
Every change of state writes the job (on condition that its state is still the one read)
and the mirror (its state; removed when the job is final) in one transaction, so the
meeting object never shows a job in another state than its own. A job whose bot never
came or stopped answering would hold the meeting for ever; `abandoned` tells when a new
start may fail it instead.
"""

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from . import roster
from .errors import ApiError, MeetingEnded, TryAgain
from .models import (
    META_SK,
    Meeting,
    Participant,
    condition_failed,
    conflicted,
    meeting_pk,
    now,
    transaction,
)

log = logging.getLogger("parley")

ATTEMPTS = 6  # a write that keeps colliding with another transaction gives up: 503


@dataclass(frozen=True)
class JobKind:
    """What differs between kinds of job.

    `mirror`: (Meeting attribute, job attribute) pairs the meeting shows of its active
    job, the job's id first; `bot_moves`: what the job's bot may move it to from each
    state; `stoppable`: what a stop moves to `stopping`; `stamps(job, to)`: more writes
    of a move (times); `overdue`: for a state, how long the job may stay in it with no
    bot of it present, and since when (job → time)."""

    noun: str  # "recording", "stream": in messages and logs
    bot: str  # the bot kind doing it (BOT_KINDS): "recorder", "streamer"
    model: type  # Recording, Stream
    key: Callable[[str], str]  # the job's sort key from its id
    id_attr: str  # "rid", "sid"
    bot_attr: str  # the bot participant's attribute naming its job
    mirror: tuple
    active: tuple
    final: tuple
    stoppable: tuple
    bot_moves: dict
    busy: type[ApiError]  # 409 for a second active job
    not_own: type[ApiError]  # 403 for a bot (or anyone) that is not the job's own bot
    stamps: Callable[[object, str], list] = lambda job, to: []
    overdue: dict = field(default_factory=dict)


def _jitter(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.004 * (attempt + 1)))  # noqa: S311 (jitter)


def _meeting(mid: str) -> Meeting:
    return Meeting(meeting_pk(mid), META_SK)


class JobStore:
    """The writes of one kind of job."""

    def __init__(self, kind: JobKind):
        self.kind = kind

    def _id(self, job) -> str:
        return getattr(job, self.kind.id_attr)

    def _mirror_id(self):
        return getattr(Meeting, self.kind.mirror[0][0])

    def bot_may_move(self, old: str, new: str) -> bool:
        return new == old or new in self.kind.bot_moves.get(old, ())

    def get(self, mid: str, job_id: str):
        """The job, read strongly consistently; None if there is none."""
        try:
            return self.kind.model.get(meeting_pk(mid), self.kind.key(job_id),
                                       consistent_read=True)
        except DoesNotExist:
            return None

    def create(self, meeting: Meeting, job) -> None:
        """Store `job` (its first state) as the meeting's active one: 409 (`busy`) if it
        has one already, 410 if it ended meanwhile."""
        kind, model = self.kind, self.kind.model
        mirror = [getattr(Meeting, m).set(getattr(job, j)) for m, j in kind.mirror]
        free = (Meeting.state == "open") & self._mirror_id().does_not_exist()
        for attempt in range(ATTEMPTS):
            try:
                with transaction() as tx:
                    tx.update(meeting, actions=mirror, condition=free)
                    tx.save(job, condition=model.pk.does_not_exist())
            except TransactWriteError as err:
                if condition_failed(err):
                    roster.reread(meeting)
                    if meeting.state != "open":
                        raise MeetingEnded() from err
                    if getattr(meeting, kind.mirror[0][0]):
                        raise kind.busy() from err
                    continue  # the active one finished just now: try again
                if not conflicted(err):
                    raise TryAgain(f"Could not start the {kind.noun}; please retry.") from err
                _jitter(attempt)
                continue
            for m, j in kind.mirror:
                setattr(meeting, m, getattr(job, j))
            log.info("meeting %s: %s %s %s", job.mid, kind.noun, self._id(job), job.state)
            return
        raise TryAgain(f"Could not start the {kind.noun}; please retry.")

    def open(self, meeting: Meeting, job) -> None:
        """`create`, but an active job that will never finish (`abandoned`) is failed
        first, once."""
        kind = self.kind
        try:
            self.create(meeting, job)
            return
        except kind.busy:
            active = self.get(meeting.mid, getattr(meeting, kind.mirror[0][0]) or "")
            if active is None or not self.abandoned(
                    active, roster.members(meeting.mid, consistent=True)):
                raise
        log.warning("meeting %s: %s %s was %s with no bot; failing it", meeting.mid,
                    kind.noun, self._id(active), active.state)
        self.fail(active, f"The {kind.bot} stopped answering.")
        self.create(meeting, job)

    def move(self, job, to: str, more: list | None = None) -> bool:
        """Move `job` from the state it was read in to `to`, with `more` writes to it,
        and the meeting's mirror in the same transaction. True when done (`job` is then
        read again); False if its state changed meanwhile (`job` is read again, for the
        caller to decide anew)."""
        kind, model = self.kind, self.kind.model
        actions = [model.state.set(to), *(more or []), *kind.stamps(job, to)]
        if to in kind.final:
            mirror = [getattr(Meeting, m).remove() for m, _ in kind.mirror]
        else:
            mirror = [getattr(Meeting, kind.mirror[-1][0]).set(to)]  # the state comes last
        for attempt in range(ATTEMPTS):
            try:
                with transaction() as tx:
                    tx.update(job, actions=actions, condition=model.state == job.state)
                    tx.update(_meeting(job.mid), actions=mirror,
                              condition=self._mirror_id() == self._id(job))
            except TransactWriteError as err:
                if condition_failed(err):
                    read = job.state
                    job.refresh(consistent_read=True)
                    if job.state == read:  # the meeting's mirror names another one
                        log.error("meeting %s: %s %s is not the meeting's active one",
                                  job.mid, kind.noun, self._id(job))
                        raise TryAgain() from err
                    return False
                if not conflicted(err):
                    raise TryAgain() from err
                _jitter(attempt)
                continue
            old = job.state
            job.refresh(consistent_read=True)
            log.info("meeting %s: %s %s %s -> %s", job.mid, kind.noun, self._id(job), old, to)
            return True
        raise TryAgain()

    def amend(self, job, more: list) -> bool:
        """Write `more` to `job` while its state is still the one read (a report that
        changes no state). False if the state changed meanwhile."""
        try:
            job.update(actions=more, condition=self.kind.model.state == job.state)
        except UpdateError as err:
            if condition_failed(err):
                job.refresh(consistent_read=True)
                return False
            raise
        return True

    def report(self, job, to: str | None, more: list, invalid: Callable[[str, str], ApiError]):
        """Its bot's report: move `job` to `to` (None: the state it is in) with `more`
        writes, re-deciding if it changed meanwhile; `invalid(old, new)` is the error
        for a move its bot may not make. Returns `job` as stored."""
        for _ in range(ATTEMPTS):
            new = to or job.state
            if not self.bot_may_move(job.state, new):
                raise invalid(job.state, new)
            if new == job.state:
                done = not more or self.amend(job, more)
                if done and more:
                    job.refresh(consistent_read=True)
            else:
                done = self.move(job, new, more)
            if done:
                return job
        raise TryAgain(f"The {self.kind.noun} keeps changing; please retry.")

    def stop(self, job, more: list | None = None) -> bool:
        """Ask the job to stop: a stoppable state → stopping (its bot hears it and
        finishes). False when it was already past that: nothing is written."""
        while job.state in self.kind.stoppable:
            if self.move(job, "stopping", more):
                return True
        return False

    def fail(self, job, error: str) -> bool:
        """Mark an active job failed with `error`; False if it finished meanwhile."""
        while job.active:
            if self.move(job, "failed", [self.kind.model.error.set(error)]):
                return True
        return False

    def stop_active(self, meeting: Meeting) -> bool:
        """The meeting ended: its active job, if it is still stoppable, stops."""
        kind = self.kind
        job_id = getattr(meeting, kind.mirror[0][0])
        if not job_id or getattr(meeting, kind.mirror[-1][0]) not in kind.stoppable:
            return False
        job = self.get(meeting.mid, job_id)
        return job is not None and self.stop(job)

    def abandoned(self, job, people: list[Participant], at: datetime | None = None) -> bool:
        """Whether an active job will never finish: no bot of it is present, and it has
        been in its state longer than `overdue` allows."""
        at = at or now()
        job_id = self._id(job)
        if any(p.role == "bot" and getattr(p, self.kind.bot_attr) == job_id
               for p in roster.present(people)):
            return False
        limit = self.kind.overdue.get(job.state)
        if limit is None:
            return False
        timeout, since = limit
        return at - since(job) > timeout

