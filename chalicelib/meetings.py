"""Create, look up and join meetings; a moderator's (host's or co-host's) lock, lobby
switch and end.

A join either takes a seat (200) or, when the meeting's lobby is on and the caller is a
guest, waits in the lobby (202) until a moderator admits them (lobby.py). A meeting with
a scheduled start (`startsAt`) refuses guests before it (409 `meeting_not_started`); a
host's join starts it early for everyone.
"""

import logging
import re
from datetime import datetime, timedelta

from chalice import Response
from pynamodb.exceptions import PutError, TransactWriteError

from . import (
    auth,
    bot_access,
    passcodes,
    polls,
    ratelimit,
    recording_store,
    roster,
    stream_store,
    turn,
)
from .config import settings
from .errors import (
    ApiError,
    HostKeyMismatch,
    InvalidRequest,
    MeetingLocked,
    MeetingNotStarted,
    PasscodeMismatch,
    PasscodeRequired,
    TryAgain,
)
from .ids import host_key, meeting_id, participant_id
from .models import (
    META_SK,
    SECRET_SK,
    Meeting,
    Participant,
    Secret,
    iso,
    kept_until,
    meeting_pk,
    now,
    participant_sk,
    transaction,
)
from .schemas import CREATE_MEETING, JOIN_MEETING, MESH_DEFAULT, UPDATE_MEETING, body_of

log = logging.getLogger("parley")

# An RFC 3339 / ISO 8601 date and time with seconds and a timezone (Z or ±hh:mm).
_STARTS_AT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:?\d{2})$")
MAX_SCHEDULE_AHEAD = timedelta(days=366)  # "at most a year ahead", leap years included
_STARTS_AT_RULE = ("startsAt must be a future time, at most a year ahead, written in ISO 8601 "
                   "with a timezone, e.g. 2026-11-23T09:00:00Z or 2026-11-23T10:00:00+01:00.")


def starts_at(value: str | None) -> datetime | None:
    """A scheduled start from a create body: aware, in the future, at most a year ahead
    (400 `invalid_request` otherwise)."""
    if value is None:
        return None
    if not _STARTS_AT.match(value):
        raise InvalidRequest(_STARTS_AT_RULE)
    # fromisoformat takes at most 6 fractional digits; more precision means nothing here
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.upper().replace("Z", "+00:00"))
    try:
        start = datetime.fromisoformat(text)
    except ValueError as err:  # a day or hour that does not exist (2026-02-30, 25:00)
        raise InvalidRequest(_STARTS_AT_RULE) from err
    at = now()
    if not at < start <= at + MAX_SCHEDULE_AHEAD:
        raise InvalidRequest(_STARTS_AT_RULE)
    return start


def create(request) -> Response:
    ratelimit.buckets().take("create", ratelimit.client_ip(request))
    body = body_of(request, CREATE_MEETING)
    start = starts_at(body.get("startsAt"))
    key = host_key()
    mid = meeting_id()
    passcode = body.get("passcode")
    meeting = Meeting(meeting_pk(mid), META_SK, mid=mid, name=body["name"].strip(),
                      created_at=now(), max_participants=body.get("maxParticipants",
                                                                  MESH_DEFAULT),
                      has_passcode=passcode is not None, lobby=body.get("lobby", False),
                      starts_at=start, expires=kept_until(start))
    secret = Secret(meeting_pk(mid), SECRET_SK, host_key_hash=passcodes.hash_host_key(key),
                    passcode_hash=passcodes.hash_passcode(passcode) if passcode else None,
                    report_email=body.get("reportEmail"),
                    expires=kept_until(start))
    try:
        with transaction() as tx:
            tx.save(meeting, condition=Meeting.pk.does_not_exist())
            tx.save(secret, condition=Secret.pk.does_not_exist())
    except (TransactWriteError, PutError) as err:  # a 96-bit id collision: astronomically rare
        raise TryAgain("Could not create the meeting; please retry.") from err
    link = f"{settings().site_url.rstrip('/')}/#/{mid}"
    return Response(status_code=201, body={"meeting": meeting.public(), "hostKey": key,
                                           "link": link})


def get(mid: str, request) -> dict:
    return {"meeting": auth.open_meeting(mid).public()}


def _role_for(body: dict, meeting: Meeting, secret: Secret) -> str:
    """Host by host key; otherwise a guest who must pass the passcode check, if any."""
    if "hostKey" in body:
        if not passcodes.check_host_key(body["hostKey"], secret.host_key_hash):
            raise HostKeyMismatch()
        return "host"
    if meeting.has_passcode:
        passcode = body.get("passcode")
        if not passcode:
            raise PasscodeRequired()
        passcodes.reserve_attempt(secret)
        if not passcodes.check_passcode(passcode, secret.passcode_hash):
            raise PasscodeMismatch()
        passcodes.release_attempt(secret)
    return "guest"


def _joined(meeting: Meeting, participant: Participant, members: list[Participant],
            s) -> dict:
    """The 200 of a join: the token, the newcomer, the others present, and how to connect."""
    return {
        "token": auth.issue(participant.pid, meeting.mid, participant.role, s),
        "participant": participant.public(),
        "participants": [p.public() for p in roster.present(members)],
        "meeting": meeting.public(),
        "iceServers": turn.ice_servers(s, participant.pid),
        "wsUrl": s.ws_url,
    }


def join(mid: str, request) -> dict | Response:
    """Take a seat (200), or wait in the lobby (202). Before a scheduled start only a
    host gets in (and starts the meeting); anyone else gets 409 `meeting_not_started`
    before any passcode is checked, so nothing is stored (not even a wrong guess). A bot
    joins with its invitation (`botToken`, bot_access.join): no seat, no lobby."""
    ratelimit.buckets().take("join", ratelimit.client_ip(request))
    body = body_of(request, JOIN_MEETING)
    s = settings()
    if "botToken" in body:
        meeting, members, bot = bot_access.join(mid, body, s)
        return _joined(meeting, bot, members, s)
    meeting, secret, members = roster.load(mid)
    if "hostKey" not in body and not meeting.started():
        raise MeetingNotStarted(iso(meeting.starts_at))
    role = _role_for(body, meeting, secret)
    if meeting.locked and role != "host":
        raise MeetingLocked()
    roster.expire_stale(meeting, members)
    pid = participant_id()
    participant = Participant(meeting_pk(mid), participant_sk(pid), pid=pid, mid=mid,
                              name=body["name"].strip(), role=role, joined_at=now(),
                              expires=kept_until())
    if meeting.lobby and role == "guest":
        roster.enter_lobby(meeting, participant)
        return Response(status_code=202, body={
            "waiting": True,
            "token": auth.issue(pid, mid, role, s),
            "participant": participant.public(),
            "meeting": meeting.public(),
            "wsUrl": s.ws_url,
        })
    roster.take_seat(meeting, participant)
    return _joined(meeting, participant, members, s)


def update(mid: str, request) -> dict:
    """Lock or unlock, and switch the lobby on or off (either or both). Turning the lobby
    off lets nobody in by itself: whoever waits stays waiting until admitted or denied."""
    meeting, me = auth.member(mid, request)
    auth.require_moderator(me)
    body = body_of(request, UPDATE_MEETING)
    actions = [getattr(Meeting, name).set(body[name]) for name in ("locked", "lobby")
               if name in body]
    meeting.update(actions=actions, condition=Meeting.state == "open")
    return {"meeting": meeting.public()}


def end(mid: str, request) -> Response:
    """End the meeting for everyone; the one request that ends it also stops its active
    recording (its bot then stores what it has) and stream, and emails the poll report
    (polls.email_report), if the meeting has polls and a reportEmail."""
    meeting, me = auth.member(mid, request)
    auth.require_moderator(me)
    if roster.end(meeting):
        for jobs in (recording_store.store, stream_store.store):
            try:
                jobs.stop_active(meeting)
            except ApiError:  # its bot hears meeting-ended and stops by itself all the same
                log.exception("meeting %s ended; stopping its %s failed", mid, jobs.kind.noun)
        polls.email_report(meeting)
    return Response(status_code=204, body="")
