"""WebSocket lifecycle: `$connect` checks the token, `$disconnect` releases the connection."""

import logging
import time
from datetime import timedelta

from chalice import Response
from pynamodb.exceptions import DoesNotExist, UpdateError

from . import auth, roster
from .config import settings
from .errors import ApiError, ParticipantGone
from .models import (
    CONNECTION_SK,
    Connection,
    Participant,
    condition_failed,
    connection_pk,
    meeting_pk,
    now,
    participant_sk,
)

log = logging.getLogger("parley")
MAX_OWNERS = 10_000
_OWNERS: dict[str, tuple[str, str]] = {}
CONN_TTL = timedelta(hours=3)  # API Gateway closes every connection after 2 h


def _item(connection_id: str, **attributes) -> Connection:
    return Connection(connection_pk(connection_id), CONNECTION_SK, **attributes)


def connect(event) -> Response | None:
    """Refuse the upgrade (401/403/404/410) unless the token names a live participant, or
    one waiting in the lobby (their socket hears only what is addressed to them: push.py
    tells them whether a host is present as soon as the socket is recorded)."""
    params = event.to_dict().get("queryStringParameters") or {}
    try:
        claims = auth.decode(params.get("token") or "", settings())
        mid = claims["mid"]
        _, participant = auth.member_for(claims, mid, waiting=True)
    except ApiError as err:
        return err.to_response()
    cid = event.connection_id
    created = now()
    _item(cid, mid=mid, pid=participant.pid, created_at=created,
          expires=created + CONN_TTL).save()
    try:
        participant.update(actions=[Participant.connections.add({cid})],
                           condition=Participant.state.is_in("active", "waiting"))
    except UpdateError as err:
        if not condition_failed(err):
            raise
        _item(cid).delete()
        return ParticipantGone().to_response()
    return None


def owner(connection_id: str) -> tuple[str, str]:
    """(mid, pid) of an open WebSocket, or 403 participant_gone. Remembered per process:
    connection ids are never reused and a connection never changes owner, and whether the
    owner is still in the meeting is checked by the caller on every use."""
    known = _OWNERS.get(connection_id)
    if known is None:
        try:
            conn = Connection.get(connection_pk(connection_id), CONNECTION_SK,
                                  consistent_read=True)
        except DoesNotExist as err:
            raise ParticipantGone() from err
        known = _OWNERS[connection_id] = (conn.mid, conn.pid)
        if len(_OWNERS) > MAX_OWNERS:
            _OWNERS.pop(next(iter(_OWNERS)))
    return known


def forget(connection_id: str, mid: str, pid: str) -> None:
    """Detach a connection from its participant (closed, or found gone while pushing).

    When it was the participant's last one, their absence is noted for the sweep, which
    times them out if no socket of theirs opens within roster.STALE_SECONDS.
    """
    at = time.time()
    participant = Participant(meeting_pk(mid), participant_sk(pid))
    try:
        participant.update(actions=[Participant.connections.delete({connection_id}),
                                    Participant.disconnected_at.set(at)],
                           condition=Participant.connections.contains(connection_id))
    except UpdateError as err:
        if not condition_failed(err):
            raise
    else:
        if (participant.active or participant.waiting) and not participant.connected:
            roster.note_absent(participant, at)
    _item(connection_id).delete()


def disconnect(event) -> None:
    cid = event.connection_id
    try:
        conn = Connection.get(connection_pk(cid), CONNECTION_SK)
    except DoesNotExist:
        return None
    forget(cid, conn.mid, conn.pid)
    return None
