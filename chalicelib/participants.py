"""A participant's own state (mic, camera, hand, screen), leaving, and the host's actions."""

from chalice import Response
from pynamodb.exceptions import DoesNotExist, UpdateError

from . import auth, roster
from .errors import ApiError
from .meetings import check_mid, is_id
from .models import Participant, meeting_pk, participant_sk
from .schemas import UPDATE_ME, validate

_FIELDS = {"audio": Participant.audio, "video": Participant.video,
           "hand": Participant.hand, "screen": Participant.screen}


def _gone(err: Exception) -> ApiError:
    return ApiError(403, "participant_gone", "You are no longer in this meeting.")


def update_me(mid: str, request, body: dict) -> dict:
    body = validate(UPDATE_ME, body)
    _, me = auth.member(request, check_mid(mid))
    actions = [_FIELDS[name].set(value) for name, value in body.items()]
    try:
        me.update(actions=actions, condition=Participant.state == "active")
    except UpdateError as err:
        if err.cause_response_code == "ConditionalCheckFailedException":
            raise _gone(err) from err
        raise
    return {"participant": me.public()}


def roster_of(mid: str, request) -> dict:
    """Who is in the meeting now, oldest first: a client re-reads this after a reconnect,
    since join/update/leave events pushed while it was away are not replayable."""
    auth.member(request, check_mid(mid))
    members = sorted((p for p in roster.participants(mid) if p.active), key=lambda p: p.joined_at)
    return {"participants": [p.public() for p in members]}


def leave(mid: str, request) -> Response:
    meeting, me = auth.member(request, check_mid(mid))
    roster.depart(meeting, me, "left")
    return Response(status_code=204, body="")


def _target(mid: str, pid: str) -> Participant:
    if not is_id(pid):
        raise ApiError(404, "participant_not_found", "No such participant.")
    try:
        target = Participant.get(meeting_pk(mid), participant_sk(pid), consistent_read=True)
    except DoesNotExist as err:
        raise ApiError(404, "participant_not_found", "No such participant.") from err
    if not target.active:
        raise ApiError(404, "participant_not_found", "No such participant.")
    return target


def request_mute(mid: str, pid: str, request) -> Response:
    """Ask someone to mute: the bump of `mute_requests` is pushed to them as mute-requested.

    Browsers only let the owner of a microphone turn it off, so this is a request the
    client honours, as in every mesh meeting product.
    """
    _, host = auth.member(request, check_mid(mid))
    auth.require_host(host)
    target = _target(mid, pid)
    target.update(actions=[Participant.mute_requests.add(1),
                           Participant.mute_requested_by.set(host.pid)])
    return Response(status_code=202, body={"participant": target.public()})


def remove(mid: str, pid: str, request) -> Response:
    """Remove someone; their token stops working at once (every request checks the state)."""
    meeting, host = auth.member(request, check_mid(mid))
    auth.require_host(host)
    if pid == host.pid:
        raise ApiError(400, "invalid_request", "Use leave to remove yourself.")
    roster.depart(meeting, _target(mid, pid), "removed")
    return Response(status_code=204, body="")
