"""The lobby routes: moderators see who waits, and admit or deny them, one at a time or
all at once. The transitions themselves (waiting → active with a seat, waiting → denied)
are in roster.py; push.py tells the moderators (lobby-joined, lobby-left), the one let in
(admitted, with everything a join answers) or turned away (denied), and everyone present
(participant-joined) as for any join.

Checks in the order of the other moderator routes: the caller's power (403 `not_host`;
someone waiting gets 403 `participant_waiting`), the rate limit (`moderate`, 429), the
`{pid}` (404 `participant_not_found`), whether they still wait (409 `not_waiting`), and
for an admission a free seat (409 `meeting_full`). A refused request changes nothing.
"""

from pynamodb.exceptions import DoesNotExist

from . import auth, ratelimit, roster
from .errors import MeetingFull, NotWaiting, ParticipantNotFound
from .ids import check_pid
from .models import Meeting, Participant, meeting_pk, participant_sk


def _moderator(mid: str, request) -> tuple[Meeting, Participant]:
    meeting, me = auth.member(mid, request)
    auth.require_moderator(me)
    return meeting, me


def _waiting(mid: str, pid: str) -> Participant:
    """Participant `pid` of the meeting if they are waiting: 404 if there is no such
    participant, 409 `not_waiting` if they are not (or no longer) in the lobby."""
    try:
        p = Participant.get(meeting_pk(mid), participant_sk(check_pid(pid)),
                            consistent_read=True)
    except DoesNotExist as err:
        raise ParticipantNotFound() from err
    if not p.waiting:
        raise NotWaiting()
    return p


def queue(mid: str, request) -> dict:
    """GET .../lobby: who is waiting, oldest first."""
    _moderator(mid, request)
    return {"waiting": [p.public() for p in roster.waiting(roster.members(mid,
                                                                          consistent=True))]}


def admit(mid: str, pid: str, request) -> dict:
    """POST .../lobby/{pid}/admit: 200 `{participant}` (now active). Of two moderators
    admitting the same guest at once, one gets 200 and the other 409 `not_waiting`."""
    meeting, me = _moderator(mid, request)
    ratelimit.buckets().take("moderate", me.pid)
    return {"participant": roster.admit(meeting, _waiting(mid, pid)).public()}


def deny(mid: str, pid: str, request) -> dict:
    """POST .../lobby/{pid}/deny: 200 `{participant}` (state denied; their token stops
    working). Like an admission, exactly one of two at once succeeds."""
    _, me = _moderator(mid, request)
    ratelimit.buckets().take("moderate", me.pid)
    p = _waiting(mid, pid)
    if not roster.leave_lobby(p, "denied"):
        raise NotWaiting()
    return {"participant": p.public()}


def admit_all(mid: str, request) -> dict:
    """POST .../lobby/admit-all: admit whoever waits, oldest first, until the meeting is
    full; the rest keep waiting. 200 `{admitted, denied: 0, full}`, `full` true when
    someone was left waiting for want of a seat. Anyone admitted, denied or gone
    meanwhile is skipped."""
    meeting, me = _moderator(mid, request)
    ratelimit.buckets().take("moderate", me.pid)
    admitted, full = 0, False
    for p in roster.waiting(roster.members(mid, consistent=True)):
        try:
            roster.admit(meeting, p)
        except (NotWaiting, ParticipantNotFound):
            continue
        except MeetingFull:
            full = True
            break
        admitted += 1
    return {"admitted": admitted, "denied": 0, "full": full}


def deny_all(mid: str, request) -> dict:
    """POST .../lobby/deny-all: deny whoever waits. 200 `{admitted: 0, denied, full:
    false}`."""
    _, me = _moderator(mid, request)
    ratelimit.buckets().take("moderate", me.pid)
    denied = sum(roster.leave_lobby(p, "denied")
                 for p in roster.waiting(roster.members(mid, consistent=True)))
    return {"admitted": 0, "denied": denied, "full": False}
