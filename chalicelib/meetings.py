"""Create, look up and join meetings; a moderator's (host's or co-host's) lock and end."""

from chalice import Response
from pynamodb.exceptions import PutError, TransactWriteError

from . import auth, passcodes, ratelimit, roster, turn
from .config import settings
from .errors import HostKeyMismatch, MeetingLocked, PasscodeMismatch, PasscodeRequired, TryAgain
from .ids import host_key, meeting_id, participant_id
from .models import (
    META_SK,
    SECRET_SK,
    Meeting,
    Participant,
    Secret,
    kept_until,
    meeting_pk,
    now,
    participant_sk,
    transaction,
)
from .schemas import CREATE_MEETING, JOIN_MEETING, MESH_DEFAULT, UPDATE_MEETING, body_of


def create(request) -> Response:
    ratelimit.buckets().take("create", ratelimit.client_ip(request))
    body = body_of(request, CREATE_MEETING)
    key = host_key()
    mid = meeting_id()
    passcode = body.get("passcode")
    meeting = Meeting(meeting_pk(mid), META_SK, mid=mid, name=body["name"].strip(),
                      created_at=now(), max_participants=body.get("maxParticipants",
                                                                  MESH_DEFAULT),
                      has_passcode=passcode is not None, expires=kept_until())
    secret = Secret(meeting_pk(mid), SECRET_SK, host_key_hash=passcodes.hash_host_key(key),
                    passcode_hash=passcodes.hash_passcode(passcode) if passcode else None,
                    expires=kept_until())
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


def join(mid: str, request) -> dict:
    ratelimit.buckets().take("join", ratelimit.client_ip(request))
    body = body_of(request, JOIN_MEETING)
    s = settings()
    meeting, secret, members = roster.load(mid)
    role = _role_for(body, meeting, secret)
    if meeting.locked and role != "host":
        raise MeetingLocked()
    roster.expire_stale(meeting, members)
    pid = participant_id()
    participant = Participant(meeting_pk(mid), participant_sk(pid), pid=pid, mid=mid,
                              name=body["name"].strip(), role=role, joined_at=now(),
                              expires=kept_until())
    roster.take_seat(meeting, participant)
    return {
        "token": auth.issue(pid, mid, role, s),
        "participant": participant.public(),
        "participants": [p.public() for p in roster.present(members)],
        "meeting": meeting.public(),
        "iceServers": turn.ice_servers(s, pid),
        "wsUrl": s.ws_url,
    }


def update(mid: str, request) -> dict:
    meeting, me = auth.member(mid, request)
    auth.require_moderator(me)
    body = body_of(request, UPDATE_MEETING)
    meeting.update(actions=[Meeting.locked.set(body["locked"])],
                   condition=Meeting.state == "open")
    return {"meeting": meeting.public()}


def end(mid: str, request) -> Response:
    meeting, me = auth.member(mid, request)
    auth.require_moderator(me)
    roster.end(meeting)
    return Response(status_code=204, body="")
