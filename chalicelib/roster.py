"""Who is in a meeting, and every change to it: a seat taken, a seat given back, the
meeting ended, absent participants timed out, host handed on. The only module that
changes a participant's state, the meeting's seat count, or who is host.

A seat is the meeting's `participant_count`; taking one and every transition out of
`active` change the count and the participant in one transaction, so the count and the
roster never disagree. A bot takes no seat but one of the meeting's bot places
(`bot_count`, at most MAX_BOTS), taken and given back the same way (`seat_bot`, `depart`).

The lobby: a guest joining a meeting whose lobby is on waits (state `waiting`) without a
seat; a moderator admits them (one transaction: waiting → active and a seat taken, on the
same conditions as a join) or denies them (waiting → denied). Waiting participants are
never in `present`, so no roster push, succession or mute-all ever counts them.

A host going never leaves others without one: when the last host leaves, is removed or
times out, the longest-present co-host (else guest) becomes host in the same transaction
(`depart`), and a host hands host over by one transaction too (`hand_over`). A meeting
whose last host went while nobody but bots was there has none until someone joins with
the host key.
"""

import logging
import random
import time

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from . import auth
from .errors import (
    InvalidBotToken,
    MeetingEnded,
    MeetingFull,
    MeetingLocked,
    MeetingNotFound,
    NotWaiting,
    ParticipantNotFound,
    TooManyBots,
    TryAgain,
)
from .models import (
    ABSENCE_PK,
    MAX_BOTS,
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
DEPART_ATTEMPTS = 8  # a departure that keeps losing races gives up with 503 try_again
SUCCESSION = ("cohost", "guest")  # who may inherit host, in this order; never a bot


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


def reread(meeting: Meeting) -> None:
    """Read `meeting` again after a cancelled transaction, to say why. A meeting purged
    meanwhile (autoclear) is 404 `meeting_not_found`, as for a request that came later."""
    try:
        meeting.refresh(consistent_read=True)
    except DoesNotExist as err:
        raise MeetingNotFound() from err


def members(mid: str, consistent: bool = False) -> list[Participant]:
    """Everyone ever in the meeting, present or not (eventually consistent unless asked)."""
    return list(Participant.query(meeting_pk(mid), participants_range(),
                                  consistent_read=consistent))


def present(people: list[Participant]) -> list[Participant]:
    """The active participants, oldest first (the longest present first): the roster as
    every client shows it."""
    return sorted((p for p in people if p.active), key=lambda p: (p.joined_at, p.pid))


def waiting(people: list[Participant]) -> list[Participant]:
    """The lobby: participants waiting to be admitted, oldest first (who asked first)."""
    return sorted((p for p in people if p.waiting), key=lambda p: (p.joined_at, p.pid))


def _seat_free(meeting: Meeting):
    """Condition: the meeting is open and has a free seat (as join and admission check)."""
    return (Meeting.state == "open") & (Meeting.participant_count < meeting.max_participants)


def take_seat(meeting: Meeting, participant: Participant) -> None:
    """Add `participant` if a seat is free and the meeting admits them (a host also gets
    into a locked meeting, and a host joining before the scheduled start starts it for
    everyone); otherwise raise why not. The newcomer has no socket yet, so their absence
    is noted in the same transaction."""
    participant.disconnected_at = time.time()
    seat_free = _seat_free(meeting)
    if participant.role != "host":
        seat_free &= Meeting.locked == False  # noqa: E712 (a PynamoDB condition, not a bool)
    actions = [Meeting.participant_count.add(1)]
    starts_now = participant.role == "host" and not meeting.started()
    if starts_now:
        actions.append(Meeting.started_early.set(True))
    try:
        with transaction() as tx:
            tx.update(meeting, actions=actions, condition=seat_free)
            tx.save(participant, condition=Participant.pk.does_not_exist())
            tx.save(Absence.of(participant, participant.disconnected_at))
    except TransactWriteError as err:
        raise _refused(meeting, participant.role) from err
    meeting.participant_count += 1
    if starts_now:
        meeting.started_early = True
        log.info("meeting %s started early by host %s", meeting.mid, participant.pid)


def seat_bot(meeting: Meeting, bot: Participant, job, job_actions: list | None = None) -> None:
    """Add `bot`, taking no seat: at most MAX_BOTS bots present (the meeting's
    `bot_count`), while the meeting is open and the job it works for (a recording, a
    stream) is still active, all checked in the one transaction that adds it, which also
    makes `job_actions` on the job; its absence is noted as for anyone. Otherwise raise
    why not (410, 409 `too_many_bots`, 403 `invalid_bot_token`)."""
    bot.disconnected_at = time.time()
    room = (Meeting.state == "open") & (Meeting.bot_count.does_not_exist()
                                        | (Meeting.bot_count < MAX_BOTS))
    model = type(job)
    still_active = model.state.is_in(*model.active_states)
    for attempt in range(DEPART_ATTEMPTS):
        try:
            with transaction() as tx:
                tx.update(meeting, actions=[Meeting.bot_count.add(1)], condition=room)
                if job_actions:
                    tx.update(job, actions=job_actions, condition=still_active)
                else:
                    tx.condition_check(model, job.pk, job.sk, condition=still_active)
                tx.save(bot, condition=Participant.pk.does_not_exist())
                tx.save(Absence.of(bot, bot.disconnected_at))
            break
        except TransactWriteError as err:
            if _conflict(err) and not condition_failed(err):  # a job moving meanwhile
                time.sleep(random.uniform(0, 0.004 * (attempt + 1)))  # noqa: S311 (jitter)
                continue
            reread(meeting)
            job.refresh(consistent_read=True)
            if meeting.state != "open":
                raise MeetingEnded() from err
            if not job.active:
                raise InvalidBotToken(f"This {model.__name__.lower()} is over; its bot cannot "
                                      "join again.") from err
            if (meeting.bot_count or 0) >= MAX_BOTS:
                raise TooManyBots() from err
            raise TryAgain("Could not join right now; please retry.") from err
    else:
        raise TryAgain("Could not join right now; please retry.")
    meeting.bot_count = (meeting.bot_count or 0) + 1
    if job_actions:
        job.refresh(consistent_read=True)
    log.info("meeting %s: bot %s (%s) joined for %s", meeting.mid, bot.pid, bot.bot,
             bot.recording_id or bot.stream_id)


def enter_lobby(meeting: Meeting, participant: Participant) -> None:
    """Add `participant` to the lobby: stored as waiting, no seat taken (a full meeting
    still lets people wait), on condition that the meeting is still open. Their absence
    is noted in the same transaction, so a lobby page that never opens its socket is
    swept like anyone else."""
    participant.state = "waiting"
    participant.disconnected_at = time.time()
    try:
        with transaction() as tx:
            tx.condition_check(Meeting, meeting.pk, meeting.sk, condition=Meeting.state == "open")
            tx.save(participant, condition=Participant.pk.does_not_exist())
            tx.save(Absence.of(participant, participant.disconnected_at))
    except TransactWriteError as err:
        reread(meeting)
        if meeting.state != "open":
            raise MeetingEnded() from err
        raise TryAgain("Could not join right now; please retry.") from err


def admit(meeting: Meeting, p: Participant) -> Participant:
    """Let waiting participant `p` in: in one transaction `p` goes from waiting to active
    (joined now) and takes a seat on the same condition a join does (the meeting open, a
    seat free; a moderator's admission passes a lock). Exactly one of any number of
    admissions at once succeeds; the others get 409 `not_waiting`. A full meeting answers
    409 `meeting_full` and nothing changes. Returns `p` as admitted."""
    joined = now()
    for attempt in range(DEPART_ATTEMPTS):
        try:
            with transaction() as tx:
                tx.update(meeting, actions=[Meeting.participant_count.add(1)],
                          condition=_seat_free(meeting))
                tx.update(p, actions=[Participant.state.set("active"),
                                      Participant.joined_at.set(joined)],
                          condition=Participant.state == "waiting")
        except TransactWriteError as err:
            if _conflict(err) and not condition_failed(err):
                time.sleep(random.uniform(0, 0.004 * (attempt + 1)))  # noqa: S311 (jitter)
                continue
            raise _not_admitted(meeting, p) from err
        p.state, p.joined_at = "active", joined
        meeting.participant_count = (meeting.participant_count or 0) + 1
        log.info("meeting %s: %s admitted from the lobby", p.mid, p.pid)
        return p
    raise _not_admitted(meeting, p)


def _not_admitted(meeting: Meeting, p: Participant) -> Exception:
    """Why an admission was cancelled: the participant first (admitted or denied by
    someone else, or gone), then the meeting (ended, full)."""
    try:
        fresh = Participant.get(p.pk, p.sk, consistent_read=True)
    except DoesNotExist:
        return ParticipantNotFound()
    if not fresh.waiting:
        return NotWaiting()
    reread(meeting)
    if meeting.state != "open":
        return MeetingEnded()
    if meeting.participant_count >= meeting.max_participants:
        return MeetingFull()
    return TryAgain("Could not admit right now; please retry.")


def leave_lobby(p: Participant, state: str, condition=None) -> bool:
    """Move waiting participant `p` out of the lobby to `state` (denied, left, timeout);
    `condition`: what else must still hold. False if they were no longer waiting (admitted,
    denied or gone meanwhile) or the condition does not hold."""
    still = Participant.state == "waiting"
    if condition is not None:
        still &= condition
    try:
        p.update(actions=[Participant.state.set(state),
                          Participant.disconnected_at.set(time.time())], condition=still)
    except UpdateError as err:
        if condition_failed(err):
            return False
        raise
    return True


def _refused(meeting: Meeting, role: str) -> Exception:
    """Why a seat transaction was cancelled, read back from the meeting."""
    reread(meeting)
    if meeting.state != "open":
        return MeetingEnded()
    if meeting.locked and role != "host":
        return MeetingLocked()
    if meeting.participant_count >= meeting.max_participants:
        return MeetingFull()
    return TryAgain("Could not join right now; please retry.")


def successor(people: list[Participant], leaving: str) -> Participant | None:
    """Who becomes host when the last host goes: of those present other than `leaving`,
    the longest-present co-host, else the longest-present guest; never a bot. None when
    only bots (or nobody) remain."""
    here = [p for p in present(people) if p.pid != leaving]
    for role in SUCCESSION:
        for p in here:
            if p.role == role:
                return p
    return None


def _as_read(p: Participant):
    """Condition: `p` is still present with the role it was read with."""
    return (Participant.state == "active") & (Participant.role == p.role)


def _standing(meeting: Meeting, host: Participant,
              people: list[Participant] | None) -> tuple[Participant | None, Participant | None]:
    """For a host about to go: (witness, heir). The witness is another host present; the
    departure holds only if they are still host when it commits. Without one, the heir
    (`successor`) takes over in the same transaction. Read afresh (consistently) unless
    `people` is given; an ended meeting gets no new host."""
    if people is None:
        try:
            if Meeting.get(meeting.pk, META_SK, consistent_read=True).state != "open":
                return None, None
        except DoesNotExist:
            return None, None
        people = list(Participant.query(meeting.pk, participants_range(), consistent_read=True))
    others = [q for q in present(people) if q.pid != host.pid]
    witness = next((q for q in others if q.role == "host"), None)
    return witness, None if witness is not None else successor(others, host.pid)


def depart(meeting: Meeting, p: Participant, reason: str, condition=None,
           people: list[Participant] | None = None) -> bool:
    """Move an active participant to `reason` (left/removed/timeout), lower their hand and
    free the seat; if they were the last host, the longest-present co-host or guest
    becomes host in the same transaction (`successor`, host_reason = `reason`).

    `condition`: what else must still hold of the participant. `people`: the meeting's
    participants as the caller has just read them (consistently), for the first try.
    Returns False if the participant had already gone or the condition no longer holds
    (idempotent under retries and races). A bot holds no seat: its going gives back its
    place among the meeting's bots (`bot_count`) instead.

    Never hostless, under races too: the transaction holds only if the participant still
    has the role it was read with, and, for a host, only if the other host it counted on
    is still host, or the heir is still present with the role it was chosen by. Two
    departures at once (two hosts, or the host and their heir) cannot both commit on
    what they read; the one that fails reads the roster again and tries again, and so
    sees that it is now the last host, or that the heir has gone.
    """
    place = Meeting.bot_count if p.role == "bot" else Meeting.participant_count
    for attempt in range(DEPART_ATTEMPTS):
        witness, heir = _standing(meeting, p, people) if p.role == "host" else (None, None)
        still = _as_read(p)
        if condition is not None:
            still &= condition
        try:
            with transaction() as tx:
                tx.update(p, actions=[Participant.state.set(reason),
                                      Participant.disconnected_at.set(time.time()),
                                      *hand_actions(False)],
                          condition=still)
                tx.update(meeting, actions=[place.add(-1)], condition=place > 0)
                if witness is not None:
                    tx.condition_check(Participant, witness.pk, witness.sk,
                                       condition=_as_read(witness))
                if heir is not None:
                    tx.update(heir, actions=[Participant.role.set("host"),
                                             Participant.host_reason.set(reason)],
                              condition=_as_read(heir))
        except TransactWriteError as err:
            people = None  # whatever was read is stale now
            # the items in the order PynamoDB sends them: condition checks, then updates
            items = ["witness"] * (witness is not None) + ["self", "meeting"] + [
                "heir"] * (heir is not None)
            failed = {item for item, r in zip(items, getattr(err, "cancellation_reasons", None)
                                              or [], strict=False)
                      if r is not None and r.code == "ConditionalCheckFailed"}
            if not failed:
                if not _conflict(err):
                    raise TryAgain() from err
                time.sleep(random.uniform(0, 0.004 * (attempt + 1)))  # noqa: S311 (jitter)
            elif "self" in failed and not _role_changed(p):
                return False  # gone already, or the condition no longer holds
            elif failed == {"meeting"}:
                return False  # no seat to give back: nothing to do
            continue  # the role, the witness or the heir changed: read again
        p.state, p.hand, p.hand_raised_at, p.hand_lowered_by = reason, False, None, None
        if heir is not None:
            heir.role, heir.host_reason = "host", reason
            log.info("meeting %s: %s is host (%s %s)", p.mid, heir.pid, p.pid, reason)
        return True
    raise TryAgain()


def _conflict(err: TransactWriteError) -> bool:
    return any(r is not None and r.code == "TransactionConflict"
               for r in getattr(err, "cancellation_reasons", None) or [])


def _role_changed(p: Participant) -> bool:
    """Whether `p` is still present but now has another role than the one read (then
    `p.role` becomes it): a departure must then be tried again as that role."""
    try:
        fresh = Participant.get(p.pk, p.sk, consistent_read=True)
    except DoesNotExist:
        return False
    if not fresh.active or fresh.role == p.role:
        return False
    p.role = fresh.role
    return True


def hand_over(host: Participant, target: Participant, actions: list) -> None:
    """`host` hands host to `target`, who becomes host (host_reason "handed") while `host`
    becomes co-host, in one transaction; `actions`: more writes to the target. Holds only
    if both are still present with the roles they were read with (TransactWriteError
    otherwise)."""
    with transaction() as tx:
        tx.update(host, actions=[Participant.role.set("cohost")], condition=_as_read(host))
        tx.update(target, actions=[*actions, Participant.role.set("host"),
                                   Participant.host_reason.set("handed")],
                  condition=_as_read(target))


def is_stale(p: Participant, at: float) -> bool:
    return (p.active or p.waiting) and not p.connected and at - p.absent_since > STALE_SECONDS


def time_out(meeting: Meeting, p: Participant, at: float,
             people: list[Participant] | None = None) -> bool:
    """Time out `p` if they have had no open connection for STALE_SECONDS at `at`; checked
    by DynamoDB at the moment of writing, so a socket that just opened keeps its seat (or
    its place in the lobby: someone waiting leaves it, lobby-left reason left)."""
    cutoff = at - STALE_SECONDS
    still_absent = Participant.connections.does_not_exist() & (
        Participant.disconnected_at <= cutoff)
    if p.waiting:
        return leave_lobby(p, "timeout", condition=still_absent)
    return depart(meeting, p, "timeout", condition=still_absent, people=people)


def expire_stale(meeting: Meeting, people: list[Participant]) -> list[Participant]:
    """Give back the seats of participants whose connection has been gone too long (a host
    among them hands host on; `people` shows who took it), and let those waiting without
    a socket for as long leave the lobby."""
    at = time.time()
    for p in people:
        seated = p.active
        if is_stale(p, at) and time_out(meeting, p, at, people) and seated:
            if p.role == "bot":
                meeting.bot_count = max(0, (meeting.bot_count or 0) - 1)
            else:
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
    here = Participant.state.is_in("active", "waiting")
    for p in Participant.scan(here, consistent_read=True):
        if p.connected:
            continue
        try:
            p.update(actions=[Participant.disconnected_at.set(at)],
                     condition=here & Participant.connections.does_not_exist())
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
    timed out at a join meanwhile is decided by `time_out`'s conditions (the participant
    is read first, for their role: a host timing out hands host on). The note is deleted
    once looked at; one that fails stays for the next run.
    """
    at = time.time() if at is None else at
    counts = {"due": 0, "timed_out": 0}
    for absence in Absence.query(ABSENCE_PK, absences_before(at - STALE_SECONDS),
                                 consistent_read=True, limit=SWEEP_LIMIT):
        counts["due"] += 1
        meeting = Meeting(meeting_pk(absence.mid), META_SK)
        try:
            p = Participant.get(meeting_pk(absence.mid), participant_sk(absence.pid),
                                consistent_read=True)
        except DoesNotExist:
            p = None
        if p is not None and is_stale(p, at) and time_out(meeting, p, at):
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
