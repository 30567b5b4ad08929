"""The participant routes: the roster as clients see it, my own state (mic, camera, hand,
screen), leaving, and the host's mute request, lowering of a hand, and removal. Changes
to the roster itself go through roster.py."""

from chalice import Response
from pynamodb.exceptions import DoesNotExist, UpdateError

from . import auth, roster
from .errors import InvalidRequest, ParticipantGone, ParticipantNotFound
from .ids import check_pid
from .models import (
    Participant,
    condition_failed,
    hand_actions,
    meeting_pk,
    participant_sk,
    settable_actions,
)
from .schemas import UPDATE_ME, UPDATE_PARTICIPANT, body_of


def present(mid: str, request) -> dict:
    """Who is in the meeting now, oldest first: a client re-reads this after a reconnect,
    since join/update/leave events pushed while it was away are not replayable."""
    auth.member(mid, request)
    return {"participants": [p.public() for p in roster.present(roster.members(mid))]}


def update_me(mid: str, request) -> dict:
    _, me = auth.member(mid, request)
    body = body_of(request, UPDATE_ME)
    try:
        me.update(actions=settable_actions(body), condition=Participant.state == "active")
    except UpdateError as err:
        if condition_failed(err):
            raise ParticipantGone() from err
        raise
    return {"participant": me.public()}


def leave(mid: str, request) -> Response:
    """Leave. DELETE is idempotent: a token whose participant has already gone (a reload
    leaving once more in case its keepalive request was lost) gets 204 and changes nothing."""
    try:
        meeting, me = auth.member(mid, request)
    except ParticipantGone:
        return Response(status_code=204, body="")
    roster.depart(meeting, me, "left")
    return Response(status_code=204, body="")


def _target(mid: str, pid: str) -> Participant:
    """Someone present in the meeting, or 404."""
    try:
        target = Participant.get(meeting_pk(mid), participant_sk(check_pid(pid)),
                                 consistent_read=True)
    except DoesNotExist as err:
        raise ParticipantNotFound() from err
    if not target.active:
        raise ParticipantNotFound()
    return target


def request_mute(mid: str, pid: str, request) -> Response:
    """Ask someone to mute: the bump of `mute_requests` is pushed to them as mute-requested.

    Browsers only let the owner of a microphone turn it off, so this is a request the
    client honours, as in every mesh meeting product.
    """
    _, host = auth.member(mid, request)
    auth.require_host(host)
    target = _target(mid, pid)
    target.update(actions=[Participant.mute_requests.add(1),
                           Participant.mute_requested_by.set(host.pid)])
    return Response(status_code=202, body={"participant": target.public()})


def update(mid: str, pid: str, request) -> dict:
    """A host changes someone's state: for now only `{"hand": false}`, lowering a raised
    hand. The change is pushed as participant-updated to everyone, its owner included."""
    _, host = auth.member(mid, request)
    auth.require_host(host)
    body_of(request, UPDATE_PARTICIPANT)
    target = _target(mid, pid)
    lowered_by = host.pid if target.pid != host.pid else None
    try:
        target.update(actions=hand_actions(False, lowered_by),
                      condition=Participant.state == "active")
    except UpdateError as err:
        if condition_failed(err):  # they left meanwhile
            raise ParticipantNotFound() from err
        raise
    return {"participant": target.public()}


def remove(mid: str, pid: str, request) -> Response:
    """Remove someone; their token stops working at once (every request checks the state)."""
    meeting, host = auth.member(mid, request)
    auth.require_host(host)
    if pid == host.pid:
        raise InvalidRequest("Use leave to remove yourself.")
    roster.depart(meeting, _target(mid, pid), "removed")
    return Response(status_code=204, body="")
