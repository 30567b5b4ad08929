"""Bearer tokens (pyjwt, HS256 pinned) and the per-request participant check."""

import time

import jwt
from pynamodb.exceptions import DoesNotExist

from .config import Settings, settings
from .errors import ApiError
from .http import bearer_token
from .models import Item, Meeting, Participant, meeting_pk, participant_sk

ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["sub", "mid", "role", "iat", "exp"]


def issue(pid: str, mid: str, role: str, s: Settings) -> str:
    now = int(time.time())
    claims = {"sub": pid, "mid": mid, "role": role, "iat": now, "exp": now + s.token_ttl}
    return jwt.encode(claims, s.jwt_secret(), algorithm=ALGORITHM)


def decode(token: str, s: Settings) -> dict:
    """Verified claims, or ApiError 401. Only HS256 is accepted (no `none`, no RS/HS confusion)."""
    try:
        return jwt.decode(token, s.jwt_secret(), algorithms=[ALGORITHM],
                          options={"require": _REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError as err:
        raise ApiError(401, "token_expired", "Your session has expired; join again.") from err
    except jwt.InvalidTokenError as err:
        raise ApiError(401, "token_invalid", "Your session token is not valid.") from err


def require_host(participant: Participant) -> None:
    if participant.role != "host":
        raise ApiError(403, "not_host", "Only the host can do that.")


def _check_open(meeting: Meeting | None) -> Meeting:
    if meeting is None:
        raise ApiError(404, "meeting_not_found", "There is no meeting with this link.")
    if meeting.state != "open":
        raise ApiError(410, "meeting_ended", "This meeting has ended.")
    return meeting


def open_meeting(mid: str) -> Meeting:
    """The meeting if it exists and has not ended (404 / 410 otherwise)."""
    try:
        meeting = Meeting.get(meeting_pk(mid), "META", consistent_read=True)
    except DoesNotExist:
        meeting = None
    return _check_open(meeting)


def member_for(claims: dict, mid: str) -> tuple[Meeting, Participant]:
    """The open meeting and the live participant behind verified claims, read together in
    one BatchGetItem; the meeting's errors (404/410) come before the participant's (403)."""
    pk, sk = meeting_pk(mid), participant_sk(claims["sub"])
    found = {item.sk: item for item in Item.batch_get([(pk, "META"), (pk, sk)],
                                                      consistent_read=True)}
    meeting = _check_open(found.get("META"))
    participant = found.get(sk)
    if not isinstance(participant, Participant) or not participant.active:
        raise ApiError(403, "participant_gone", "You are no longer in this meeting.")
    return meeting, participant


def member(request, mid: str, s: Settings | None = None) -> tuple[Meeting, Participant]:
    """`member_for` the bearer token of an HTTP request, for meeting `mid`.

    A missing or ended meeting (404/410) outranks a bad token (401/403).
    """
    try:
        claims = decode(bearer_token(request), s or settings())
        if claims.get("mid") != mid:
            raise ApiError(403, "wrong_meeting", "This session belongs to another meeting.")
    except ApiError:
        open_meeting(mid)
        raise
    return member_for(claims, mid)
