"""Create, look up and join meetings; host-only lock and end."""

import re
from datetime import timedelta

from chalice import Response
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from . import auth, passcodes, ratelimit, roster, turn
from .config import settings
from .errors import ApiError
from .ids import host_key, meeting_id, participant_id
from .models import (
    ITEM_TTL_MARGIN,
    Item,
    Meeting,
    Participant,
    Secret,
    meeting_pk,
    now,
    participant_sk,
)
from .schemas import (
    CREATE_MEETING,
    ID_PATTERN,
    JOIN_MEETING,
    MESH_DEFAULT,
    UPDATE_MEETING,
    validate,
)

_ID = re.compile(ID_PATTERN)


def is_id(value: str) -> bool:
    return bool(_ID.match(value or ""))


def check_mid(mid: str) -> str:
    if not is_id(mid):
        raise ApiError(404, "meeting_not_found", "There is no meeting with this link.")
    return mid


def _expires():
    return now() + timedelta(hours=settings().retention_hours) + ITEM_TTL_MARGIN


def create(body: dict, request) -> Response:
    ratelimit.buckets().take("create", ratelimit.client_ip(request))
    body = validate(CREATE_MEETING, body)
    s = settings()
    key = host_key()
    mid = meeting_id()
    passcode = body.get("passcode")
    meeting = Meeting(meeting_pk(mid), "META", mid=mid, name=body["name"].strip(),
                      created_at=now(), max_participants=body.get("maxParticipants",
                                                                  MESH_DEFAULT),
                      has_passcode=passcode is not None, expires=_expires())
    secret = Secret(meeting_pk(mid), "SECRET", host_key_hash=passcodes.hash_host_key(key),
                    passcode_hash=passcodes.hash_passcode(passcode) if passcode else None,
                    expires=_expires())
    try:
        with TransactWrite(connection=Item._get_connection().connection) as tx:
            tx.save(meeting, condition=Meeting.pk.does_not_exist())
            tx.save(secret, condition=Secret.pk.does_not_exist())
    except (TransactWriteError, PutError) as err:  # a 96-bit id collision: astronomically rare
        raise ApiError(503, "try_again", "Could not create the meeting; please retry.") from err
    link = f"{s.site_url.rstrip('/')}/#/{mid}"
    return Response(status_code=201, body={"meeting": meeting.public(), "hostKey": key,
                                           "link": link})


def get(mid: str) -> dict:
    return {"meeting": auth.open_meeting(check_mid(mid)).public()}


def _role_for(body: dict, meeting: Meeting, secret: Secret) -> str:
    """Host by host key; otherwise a guest who must pass the passcode check, if any."""
    if "hostKey" in body:
        if not passcodes.check_host_key(body["hostKey"], secret.host_key_hash):
            raise ApiError(403, "host_key_mismatch", "The host key is not right.")
        return "host"
    if meeting.has_passcode:
        passcode = body.get("passcode")
        if not passcode:
            raise ApiError(401, "passcode_required", "This meeting needs a passcode.")
        passcodes.reserve_attempt(secret)
        if not passcodes.check_passcode(passcode, secret.passcode_hash):
            raise ApiError(403, "passcode_mismatch", "That passcode is not right.")
        passcodes.release_attempt(secret)
    return "guest"


def _refused(meeting: Meeting, role: str) -> ApiError:
    """Why a seat transaction was cancelled, read back from the meeting."""
    meeting.refresh(consistent_read=True)
    if meeting.state != "open":
        return ApiError(410, "meeting_ended", "This meeting has ended.")
    if meeting.locked and role != "host":
        return ApiError(423, "meeting_locked", "The host has locked this meeting.")
    if meeting.participant_count >= meeting.max_participants:
        return ApiError(409, "meeting_full", "This meeting is full.")
    return ApiError(503, "try_again", "Could not join right now; please retry.")


def join(mid: str, body: dict, request) -> dict:
    ratelimit.buckets().take("join", ratelimit.client_ip(request))
    body = validate(JOIN_MEETING, body)
    s = settings()
    meeting, secret, members = roster.load(check_mid(mid))
    role = _role_for(body, meeting, secret)
    if meeting.locked and role != "host":
        raise ApiError(423, "meeting_locked", "The host has locked this meeting.")
    members = roster.expire_stale(meeting, members)
    pid = participant_id()
    participant = Participant(meeting_pk(mid), participant_sk(pid), pid=pid, mid=mid,
                              name=body["name"].strip(), role=role, joined_at=now(),
                              expires=_expires())
    seat_free = (Meeting.state == "open") & (Meeting.participant_count < meeting.max_participants)
    if role != "host":
        seat_free &= Meeting.locked == False  # noqa: E712 (a PynamoDB condition, not a bool)
    try:
        with TransactWrite(connection=Item._get_connection().connection) as tx:
            tx.update(meeting, actions=[Meeting.participant_count.add(1)], condition=seat_free)
            tx.save(participant, condition=Participant.pk.does_not_exist())
    except TransactWriteError as err:
        raise _refused(meeting, role) from err
    meeting.participant_count += 1
    return {
        "token": auth.issue(pid, mid, role, s),
        "participant": participant.public(),
        "participants": [p.public() for p in sorted(members, key=lambda m: m.joined_at)
                         if p.active],
        "meeting": meeting.public(),
        "iceServers": turn.ice_servers(s, pid),
        "wsUrl": s.ws_url,
    }


def update(mid: str, request, body: dict) -> dict:
    body = validate(UPDATE_MEETING, body)
    meeting, host = auth.member(request, check_mid(mid))
    auth.require_host(host)
    meeting.update(actions=[Meeting.locked.set(body["locked"])],
                   condition=Meeting.state == "open")
    return {"meeting": meeting.public()}


def end(mid: str, request) -> Response:
    meeting, host = auth.member(request, check_mid(mid))
    auth.require_host(host)
    roster.end(meeting)
    return Response(status_code=204, body="")
