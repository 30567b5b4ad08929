"""What a client may send on its open WebSocket, routed by `action` the way API Gateway's
route selection (`$request.body.action`) would; Chalice gives the app one `$default`
route, so the routing is here. Every message gets one reply frame."""

import json

from chalice import WebsocketDisconnectedError

from . import push, signaling
from .errors import ApiError, InvalidRequest
from .http import json_object

MAX_FRAME = 32 * 1024  # API Gateway's frame limit; the app never needs more


def message(event, websocket_api, push_sender: push.Sender) -> None:
    try:
        if len(event.body) > MAX_FRAME:
            raise InvalidRequest("Message is over 32 KB.")
        body = json_object(event.body)
    except ApiError as err:
        reply = err.to_event()
    else:
        action = body.get("action")
        if action == "ping":
            reply = {"event": "pong"}
        elif action == "ticket":
            reply = signaling.from_socket(event.connection_id, body, push_sender)
        else:
            reply = InvalidRequest('Send {"action": "ping"} or {"action": "ticket", ...}.'
                                   ).to_event()
    try:
        websocket_api.send(event.connection_id, json.dumps(reply, separators=(",", ":")))
    except WebsocketDisconnectedError:
        pass  # the sender left while its message was handled; nobody is left to tell
