"""The participant routes: the roster as clients see it, my own state (mic, camera, hand,
screen), leaving, and what moderators do to others: ask them to mute, unmute or turn
their camera off (one at a time or everyone), lower a hand, remove; and what only a host
does: make or unmake co-hosts, hand host over. Changes to the roster itself and to who is
host go through roster.py.

Who may do what (`auth.require_moderator`: host or co-host; `auth.require_host`): a
moderator route checks the caller's power first (403 `not_host`), then the body (400),
then the rate limit (429), then the `{pid}` (404 `participant_not_found`), then what the
target allows (a co-host removes guests only: 403; a bot or a host cannot be given
another role: 400). A refused request changes nothing.
"""

from chalice import Response
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from . import auth, ratelimit, roster
from .errors import InvalidRequest, NotHost, ParticipantGone, ParticipantNotFound, TryAgain
from .http import json_body
from .ids import check_pid
from .models import (
    Participant,
    ask_actions,
    condition_failed,
    hand_actions,
    meeting_pk,
    participant_sk,
    settable_actions,
)
from .schemas import UPDATE_ME, UPDATE_PARTICIPANT, body_of, validate

# Whom each moderator role may remove (nobody removes themselves: that is leaving).
REMOVABLE = {"host": ("host", "cohost", "guest", "bot"), "cohost": ("guest",)}
# The roles a host may give with PATCH .../participants/{pid} `{"role"}`, and the roles
# of those who may be given one: a bot stays a bot, a host stays host (they hand it over).
GIVEN_ROLES = ("host", "cohost", "guest")
CHANGEABLE_ROLES = ("cohost", "guest")


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
    """Leave, or leave the lobby (the one route besides opening a socket that a waiting
    participant may call). DELETE is idempotent: a token whose participant has already
    gone (a reload leaving once more in case its keepalive request was lost) gets 204 and
    changes nothing. The last host leaving hands host on (roster.depart)."""
    try:
        meeting, me = auth.member(mid, request, waiting=True)
    except ParticipantGone:
        return Response(status_code=204, body="")
    if me.waiting:
        if not roster.leave_lobby(me, "left") and _stored_state(me) == "active":
            # admitted just now: leaving means leaving the meeting
            roster.depart(meeting, me, "left")
    else:
        roster.depart(meeting, me, "left")
    return Response(status_code=204, body="")


def _stored_state(p: Participant) -> str | None:
    try:
        fresh = Participant.get(p.pk, p.sk, consistent_read=True)
    except DoesNotExist:
        return None
    p.state, p.role = fresh.state, fresh.role
    return fresh.state


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


def _moderator(mid: str, request) -> Participant:
    """The caller, if a host or co-host (403 otherwise)."""
    _, me = auth.member(mid, request)
    auth.require_moderator(me)
    return me


def _update_present(target: Participant, actions: list, condition=None) -> None:
    """Write `actions` to `target` while they are present (404 once they have gone)."""
    still = Participant.state == "active"
    if condition is not None:
        still &= condition
    try:
        target.update(actions=actions, condition=still)
    except UpdateError as err:
        if condition_failed(err):
            raise ParticipantNotFound() from err
        raise


def _ask(mid: str, pid: str, request, kind: str) -> Response:
    """A moderator's request `kind` (models.ASKS) to one participant: 202, pushed to them."""
    me = _moderator(mid, request)
    ratelimit.buckets().take("moderate", me.pid)
    target = _target(mid, pid)
    _update_present(target, ask_actions(kind, me.pid))
    return Response(status_code=202, body={"participant": target.public()})


def request_mute(mid: str, pid: str, request) -> Response:
    """Ask someone to mute: the bump of `mute_requests` is pushed to them as mute-requested.

    Browsers only let the owner of a microphone turn it off, so this is a request the
    client honours, as in every mesh meeting product.
    """
    return _ask(mid, pid, request, "mute")


def ask_unmute(mid: str, pid: str, request) -> Response:
    """Ask someone to unmute: pushed to them alone as unmute-requested. Only they can
    switch their microphone on, so their page asks them (a prompt, never by itself)."""
    return _ask(mid, pid, request, "unmute")


def mute_all(mid: str, request) -> Response:
    """Ask every guest present whose microphone is on to mute (moderators and bots are
    left alone): 202 `{"muted": n}`, each of them gets mute-requested."""
    me = _moderator(mid, request)
    ratelimit.buckets().take("moderate", me.pid)
    muted = 0
    for p in roster.present(roster.members(mid, consistent=True)):
        if p.role != "guest" or not p.audio:
            continue
        try:  # still a guest with audio on: whoever muted or was promoted meanwhile is skipped
            p.update(actions=ask_actions("mute", me.pid),
                     condition=(Participant.state == "active") & (Participant.role == "guest")
                     & (Participant.audio == True))  # noqa: E712 (a PynamoDB condition)
        except UpdateError as err:
            if not condition_failed(err):
                raise
            continue
        muted += 1
    return Response(status_code=202, body={"muted": muted})


def update(mid: str, pid: str, request) -> Response:
    """A moderator changes someone else: `{"hand": false}` lowers their hand,
    `{"video": false}` asks their page to turn the camera off (camera-off-requested, to
    them alone; 202), and a host's `{"role": "cohost" | "guest"}` makes or unmakes a
    co-host, `{"role": "host"}` hands host over (the caller becomes co-host). Keys may
    be combined; every change is one write. A change of role or a hand lowered is pushed
    as participant-updated to everyone, the participant included."""
    me = _moderator(mid, request)
    raw = json_body(request)
    if "role" in raw:
        auth.require_host(me)
    body = validate(UPDATE_PARTICIPANT, raw)
    ratelimit.buckets().take("moderate", me.pid)
    target = _target(mid, pid)
    role = body.get("role")
    if role is not None:
        _check_role_change(me, target)
    actions = []
    if "hand" in body:
        actions += hand_actions(False, me.pid if target.pid != me.pid else None)
    if "video" in body:
        actions += ask_actions("camera-off", me.pid)
    if role == "host":
        _hand_over(mid, me, target, actions)
        target = _target(mid, pid)
    elif role is not None:
        try:
            _update_present(target, [*actions, Participant.role.set(role)],
                            condition=Participant.role == target.role)
        except ParticipantNotFound:  # gone, or their role changed meanwhile
            _check_role_change(me, _target(mid, pid))
            raise TryAgain() from None
    else:
        _update_present(target, actions)
    return Response(status_code=202 if "video" in body else 200,
                    body={"participant": target.public()})


def _check_role_change(me: Participant, target: Participant) -> None:
    if target.pid == me.pid:
        raise InvalidRequest("You cannot change your own role; hand host to someone instead.")
    if target.role not in CHANGEABLE_ROLES:
        raise InvalidRequest(f"A {'bot' if target.role == 'bot' else 'host'}'s role "
                             "cannot be changed.")


def _hand_over(mid: str, me: Participant, target: Participant, actions: list) -> None:
    try:
        roster.hand_over(me, target, actions)
    except TransactWriteError as err:
        if not condition_failed(err):
            raise TryAgain() from err
        # one of them changed meanwhile: answer as if the request came now
        try:
            me = Participant.get(me.pk, me.sk, consistent_read=True)
        except DoesNotExist:
            raise ParticipantGone() from err
        if not me.active:
            raise ParticipantGone() from err
        auth.require_host(me)
        _check_role_change(me, _target(mid, target.pid))
        raise TryAgain() from err


def remove(mid: str, pid: str, request) -> Response:
    """Remove someone; their token stops working at once (every request checks the state).
    A host removes anyone but themselves, a co-host guests only (403 `not_host`)."""
    meeting, me = auth.member(mid, request)
    auth.require_moderator(me)
    if pid == me.pid:
        raise InvalidRequest("Use leave to remove yourself.")
    allowed = REMOVABLE[me.role]
    target = _removable(_target(mid, pid), allowed)
    if not roster.depart(meeting, target, "removed",
                         condition=Participant.role.is_in(*allowed)):
        _removable(_target(mid, pid), allowed)  # gone (404) or no longer removable (403)
        raise TryAgain()
    return Response(status_code=204, body="")


def _removable(target: Participant, allowed: tuple) -> Participant:
    if target.role not in allowed:
        raise NotHost("A co-host can remove guests only.")
    return target
