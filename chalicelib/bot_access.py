"""Bots in a meeting: the invitation the server gives a bot it starts, and the bot's join.

The invitation is a JWT signed with the app's secret, like a participant token but of
another kind: claims {mid, rid, role: "bot-invite", bot, iat, exp = iat + 24 h}, no `sub`
(so it is never a participant token, and a participant token is never an invitation).
With it a bot joins as a participant of role `bot` through the same join route: no
lobby, passcode, lock or scheduled start, and no seat (a bot never makes a meeting full);
at most MAX_BOTS bots are present at once. A restarted bot joins again with the same
invitation while its recording is active; its earlier participant then leaves, so the
pages never negotiate with a bot that is gone.
"""

import time

import jwt
from pynamodb.exceptions import DoesNotExist

from . import roster
from .auth import ALGORITHM
from .config import Settings
from .errors import InvalidBotToken, InvalidRequest
from .ids import is_id, participant_id
from .models import (
    BOT_KINDS,
    Meeting,
    Participant,
    Recording,
    kept_until,
    meeting_pk,
    now,
    participant_sk,
    recording_sk,
)

INVITE_ROLE = "bot-invite"
INVITE_TTL = 24 * 3600
_INVITE_CLAIMS = ["mid", "rid", "role", "bot", "iat", "exp"]


def issue_invite(mid: str, rid: str, s: Settings, kind: str = "recorder") -> str:
    issued = int(time.time())
    claims = {"mid": mid, "rid": rid, "role": INVITE_ROLE, "bot": kind, "iat": issued,
              "exp": issued + INVITE_TTL}
    return jwt.encode(claims, s.jwt_secret(), algorithm=ALGORITHM)


def verify_invite(token: str, mid: str, s: Settings) -> dict:
    """The invitation's claims if it is valid and for meeting `mid`; 403
    `invalid_bot_token` otherwise (bad signature, expired, another meeting, not one)."""
    try:
        claims = jwt.decode(token, s.jwt_secret(), algorithms=[ALGORITHM],
                            options={"require": _INVITE_CLAIMS})
    except jwt.InvalidTokenError as err:
        raise InvalidBotToken() from err
    if (claims.get("role") != INVITE_ROLE or claims.get("mid") != mid
            or claims.get("bot") not in BOT_KINDS or not is_id(str(claims.get("rid")))):
        raise InvalidBotToken()
    return claims


def _active_recording(mid: str, rid: str) -> Recording:
    try:
        recording = Recording.get(meeting_pk(mid), recording_sk(rid), consistent_read=True)
    except DoesNotExist as err:
        raise InvalidBotToken() from err
    if not recording.active:
        raise InvalidBotToken("This recording is over; its bot cannot join again.")
    return recording


def join(mid: str, body: dict, s: Settings) -> tuple[Meeting, list[Participant], Participant]:
    """A bot's join (`body` has `botToken`): the meeting, everyone ever in it as read, and
    the bot, now present. The meeting's errors (404/410) come first, then the
    invitation's (403 `invalid_bot_token`), then 409 `too_many_bots`."""
    extra = {"hostKey", "passcode"} & set(body)
    if extra:
        raise InvalidRequest(f"Invalid request: a bot joins with botToken alone, not with "
                             f"{', '.join(sorted(extra))}.")
    meeting, _, members = roster.load(mid)
    claims = verify_invite(body["botToken"], mid, s)
    rid = claims["rid"]
    recording = _active_recording(mid, rid)
    roster.expire_stale(meeting, members)
    for earlier in roster.present(members):  # a restart: the bot it replaces leaves
        if earlier.role == "bot" and earlier.recording_id == rid:
            roster.depart(meeting, earlier, "left")
    pid = participant_id()
    bot = Participant(meeting_pk(mid), participant_sk(pid), pid=pid, mid=mid,
                      name=body["name"].strip(), role="bot", bot=claims["bot"],
                      recording_id=rid, audio=False, video=False, joined_at=now(),
                      expires=kept_until())
    roster.seat_bot(meeting, bot, recording)
    return meeting, members, bot
