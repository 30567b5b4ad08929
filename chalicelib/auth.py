"""Bearer tokens (pyjwt, HS256 pinned) and the per-request participant check."""

import time
from collections.abc import Callable

import jwt
from pynamodb.exceptions import DoesNotExist

from .config import Settings, settings
from .errors import (
    ApiError,
    MeetingEnded,
    MeetingNotFound,
    NotHost,
    ParticipantGone,
    ParticipantWaiting,
    TokenExpired,
    TokenInvalid,
    WrongMeeting,
)
from .http import bearer_token
from .ids import check_mid
from .models import META_SK, Item, Meeting, Participant, meeting_pk, participant_sk

ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["sub", "mid", "role", "iat", "exp"]


def issue(pid: str, mid: str, role: str, s: Settings) -> str:
    now = int(time.time())
    claims = {"sub": pid, "mid": mid, "role": role, "iat": now, "exp": now + s.token_ttl}
    return jwt.encode(claims, s.jwt_secret(), algorithm=ALGORITHM)


def decode(token: str, s: Settings) -> dict:
    """Verified claims, or 401. Only HS256 is accepted (no `none`, no RS/HS confusion)."""
    try:
        return jwt.decode(token, s.jwt_secret(), algorithms=[ALGORITHM],
                          options={"require": _REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError as err:
        raise TokenExpired() from err
    except jwt.InvalidTokenError as err:
        raise TokenInvalid() from err


def require_moderator(participant: Participant) -> None:
    """A host or a co-host (403 `not_host` otherwise): mute, lock, end, lower a hand, ..."""
    if not participant.moderator:
        raise NotHost("Only the host or a co-host can do that.")


def require_host(participant: Participant) -> None:
    """A host only (403 `not_host` otherwise): make or unmake co-hosts, hand host over.

    The role is read from the participant's item on every request, never from the
    token's `role` claim, which is only the role someone joined with."""
    if participant.role != "host":
        raise NotHost()


def check_open(meeting: Meeting | None) -> Meeting:
    """The meeting if it exists and has not ended (404 / 410 otherwise)."""
    if meeting is None:
        raise MeetingNotFound()
    if meeting.state != "open":
        raise MeetingEnded()
    return meeting


def open_meeting(mid: str) -> Meeting:
    try:
        meeting = Meeting.get(meeting_pk(check_mid(mid)), META_SK, consistent_read=True)
    except DoesNotExist:
        meeting = None
    return check_open(meeting)


def member_for(claims: dict, mid: str, waiting: bool = False) -> tuple[Meeting, Participant]:
    """The open meeting and the live participant behind verified claims, read together in
    one BatchGetItem; the meeting's errors (404/410) come before the participant's (403).
    `waiting`: someone in the lobby will do too (opening a socket, leaving the lobby)."""
    meeting, participant, _ = member_with(claims["sub"], mid, waiting=waiting)
    return meeting, participant


def member_with(pid: str, mid: str, also: tuple = (),
                waiting: bool = False) -> tuple[Meeting, Participant, dict]:
    """`member_for` participant `pid`, plus the items at the (pk, sk) keys `also`, read in
    the same BatchGetItem (a ticket's recipient, counter and key): found ones by sort key.

    Someone in the lobby gets 403 `participant_waiting` unless `waiting` allows them;
    anyone who left, was removed, denied or timed out gets 403 `participant_gone`."""
    pk, sk = meeting_pk(mid), participant_sk(pid)
    found = {item.sk: item for item in Item.batch_get([(pk, META_SK), (pk, sk), *also],
                                                      consistent_read=True)}
    meeting, participant = _member_in(found, sk, waiting)
    return meeting, participant, found


def _member_in(found: dict, sk: str, waiting: bool) -> tuple[Meeting, Participant]:
    meeting = check_open(found.get(META_SK))
    participant = found.get(sk)
    if not isinstance(participant, Participant):
        raise ParticipantGone()
    if participant.waiting:
        if not waiting:
            raise ParticipantWaiting()
    elif not participant.active:
        raise ParticipantGone()
    return meeting, participant


def member_or_bot(claims: dict, mid: str) -> tuple[Meeting, Participant]:
    """`member_for`, except that a bot of the meeting passes whatever its state and the
    meeting's: a recorder reports its upload after it left, or after the meeting ended.
    What a bot may then do is the route's to check (its own recording only)."""
    pk, sk = meeting_pk(mid), participant_sk(claims["sub"])
    found = {item.sk: item for item in Item.batch_get([(pk, META_SK), (pk, sk)],
                                                      consistent_read=True)}
    meeting, participant = found.get(META_SK), found.get(sk)
    if isinstance(meeting, Meeting) and isinstance(participant, Participant) \
            and participant.role == "bot":
        return meeting, participant
    return _member_in(found, sk, waiting=False)


def checked_body(claims: dict, mid: str, check: Callable[[], dict]) -> dict:
    """`check()`'s body, read before the table; if it is refused, a gone meeting or
    participant outranks the bad body (one BatchGetItem only on that error path)."""
    try:
        return check()
    except ApiError:
        member_for(claims, mid)
        raise


def claims(mid: str, request) -> dict:
    """The verified claims of an HTTP request's bearer token, for meeting `mid`.

    A missing or ended meeting (404/410) outranks a bad token (401/403).
    """
    check_mid(mid)
    try:
        verified = decode(bearer_token(request), settings())
        if verified.get("mid") != mid:
            raise WrongMeeting()
    except ApiError:
        open_meeting(mid)
        raise
    return verified


def member(mid: str, request, waiting: bool = False) -> tuple[Meeting, Participant]:
    """`member_for` the bearer token of an HTTP request, for meeting `mid`."""
    return member_for(claims(mid, request), mid, waiting=waiting)
