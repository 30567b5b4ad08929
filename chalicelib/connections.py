"""WebSocket lifecycle: `$connect` checks the token, `$disconnect` releases the connection."""

import json
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
MAX_FRAME = 32 * 1024
CONN_TTL = timedelta(hours=3)  # API Gateway closes every connection after 2 h


def _item(connection_id: str, **attributes) -> Connection:
    return Connection(connection_pk(connection_id), CONNECTION_SK, **attributes)


def connect(event) -> Response | None:
    """Refuse the upgrade (401/403/404/410) unless the token names a live participant."""
    params = event.to_dict().get("queryStringParameters") or {}
    try:
        claims = auth.decode(params.get("token") or "", settings())
        mid = claims["mid"]
        _, participant = auth.member_for(claims, mid)
    except ApiError as err:
        return err.to_response()
    cid = event.connection_id
    created = now()
    _item(cid, mid=mid, pid=participant.pid, created_at=created,
          expires=created + CONN_TTL).save()
    try:
        participant.update(actions=[Participant.connections.add({cid})],
                           condition=Participant.state == "active")
    except UpdateError as err:
        if not condition_failed(err):
            raise
        _item(cid).delete()
        return ParticipantGone().to_response()
    return None


def message(event, websocket_api) -> None:
    """The only client action is a keep-alive ping; anything else gets an error frame."""
    try:
        body = json.loads(event.body) if len(event.body) <= MAX_FRAME else None
    except (ValueError, RecursionError):  # RecursionError: `[[[[...` nested past the parser
        body = None
    if isinstance(body, dict) and body.get("action") == "ping":
        reply = {"event": "pong"}
    else:
        reply = {"event": "error", "error": {"code": "invalid_request",
                                             "message": 'Send {"action": "ping"}.'}}
    websocket_api.send(event.connection_id, json.dumps(reply))


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
        if participant.active and not participant.connected:
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
