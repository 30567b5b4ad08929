"""WebRTC tickets: one core that checks, stores (ticket_store) and hands a ticket straight
to the recipient's sockets, reached two ways — a REST POST and a `ticket` action on the
sender's open WebSocket — and the replay after a reconnect."""

import json
import logging

from chalice import Response

from . import auth, connections, push, ratelimit, ticket_store
from .errors import ApiError, InvalidRequest, PayloadTooLarge
from .models import Participant, Ticket, meeting_pk, tickets_range
from .schemas import (
    AFTER_QUERY,
    MAX_TICKET_DATA,
    POST_TICKET,
    SOCKET_TICKET,
    body_of,
    query_of,
    validate,
)

log = logging.getLogger("parley")
REPLAY_LIMIT = 200
LOST_NUMBERS = 1000  # more ticket numbers than a stack hands out in a snapshot interval


def checked(body: dict, sender: str) -> dict:
    """The limits a valid ticket body must also meet: data size, not to oneself."""
    if len(json.dumps(body.get("data"), separators=(",", ":"))) > MAX_TICKET_DATA:
        raise PayloadTooLarge("Ticket data is over 16 KB.")
    if body["to"] == sender:
        raise InvalidRequest("A ticket cannot be sent to yourself.")
    return body


def deliver(mid: str, sender: str, body: dict, push_sender: push.Sender) -> tuple[Ticket, bool]:
    """The core both routes share: sender still in the open meeting (read together with
    the recipient, its counter and the key), rate limit, store once, push at once.

    A repeat of a key is pushed again too: the recipient drops the copy by id, and if the
    first try died before its push, the recipient need not wait for the stream.
    """
    also = ticket_store.lookups(mid, sender, body["to"], body.get("key"))
    _, me, found = auth.member_with(sender, mid, also)
    ratelimit.buckets().take("ticket", me.pid)
    ticket, recipient, stored = ticket_store.store(mid, me.pid, body, found)
    if recipient is not None:
        push.hand_over(push_sender, ticket, recipient)
    return ticket, stored


def post(mid: str, request, push_sender: push.Sender) -> Response:
    """POST .../tickets: 202 with the ticket, the stored one again for a repeated key."""
    claims = auth.claims(mid, request)
    body = auth.checked_body(claims, mid, lambda: checked(body_of(request, POST_TICKET), claims["sub"]))
    ticket, _ = deliver(mid, claims["sub"], body, push_sender)
    return Response(status_code=202, body={"ticket": ticket.public()})


def from_socket(connection_id: str, frame: dict, push_sender: push.Sender) -> dict:
    """`{"action": "ticket", ...}` on an open WebSocket, authenticated by the connection
    (its `$connect` checked the token). Returns the reply frame: `ticket-stored` with the
    ticket, or the REST route's error as an `error` frame; both echo the key."""
    key = frame.get("key") if isinstance(frame.get("key"), str) else None
    try:
        mid, sender = connections.owner(connection_id)
        body = checked(validate(SOCKET_TICKET, frame), sender)
        ticket, _ = deliver(mid, sender, body, push_sender)
    except ApiError as err:
        return err.to_event(action="ticket", key=key)
    except Exception:
        log.exception("ticket from connection %s failed", connection_id)
        return ApiError().to_event(action="ticket", key=key)
    return {"event": "ticket-stored", "key": key, "ticket": ticket.public()}


def replay(mid: str, request) -> dict:
    """Tickets addressed to the caller with an id after `after`, oldest first."""
    _, me = auth.member(mid, request)
    after = query_of(request, AFTER_QUERY).get("after", "")
    tickets = [t.public() for t in Ticket.query(meeting_pk(mid), tickets_range(me.pid, after),
                                                consistent_read=True, limit=REPLAY_LIMIT + 1)
               if t.tid != after]
    return {"tickets": tickets[:REPLAY_LIMIT]}


def skip_ticket_numbers(by: int = LOST_NUMBERS) -> int:
    """Move every present participant's ticket numbering `by` ahead; returns how many.

    For the local stack after it was killed: the writes of its last seconds are lost,
    ticket counters included, so numbers a page has already seen would be handed out
    again and dropped as duplicates. Ahead of them, the page sees a gap and replays.
    """
    moved = 0
    for p in Participant.scan(Participant.state == "active", consistent_read=True):
        ticket_store.skip_numbers(p, by)
        moved += 1
    return moved
