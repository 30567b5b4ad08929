"""WebSocket lifecycle: `$connect` checks the token, `$disconnect` releases the connection."""

import json
import logging
import time
from datetime import timedelta

from chalice import Response
from pynamodb.exceptions import DoesNotExist, UpdateError

from . import auth
from .config import settings
from .errors import ApiError
from .models import Connection, Participant, meeting_pk, now, participant_sk

log = logging.getLogger("parley")
MAX_FRAME = 32 * 1024
CONN_TTL = timedelta(hours=3)  # API Gateway closes every connection after 2 h


def _conn_item(connection_id: str) -> Connection:
    return Connection(f"C#{connection_id}", "CONN")


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
    Connection(f"C#{cid}", "CONN", mid=mid, pid=participant.pid, created_at=created,
               expires=created + CONN_TTL).save()
    try:
        participant.update(actions=[Participant.connections.add({cid})],
                           condition=Participant.state == "active")
    except UpdateError as err:
        if err.cause_response_code != "ConditionalCheckFailedException":
            raise
        _conn_item(cid).delete()
        return ApiError(403, "participant_gone", "You are no longer in this meeting.").to_response()
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
    """Detach a connection from its participant (closed or found gone while pushing)."""
    try:
        Participant(meeting_pk(mid), participant_sk(pid)).update(
            actions=[Participant.connections.delete({connection_id}),
                     Participant.disconnected_at.set(time.time())],
            condition=Participant.connections.contains(connection_id))
    except UpdateError as err:
        if err.cause_response_code != "ConditionalCheckFailedException":
            raise
    _conn_item(connection_id).delete()


def disconnect(event) -> None:
    cid = event.connection_id
    try:
        conn = Connection.get(f"C#{cid}", "CONN")
    except DoesNotExist:
        return None
    forget(cid, conn.mid, conn.pid)
    return None
