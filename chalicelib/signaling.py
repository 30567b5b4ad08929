"""WebRTC tickets: store one per message, numbered per recipient, hand it straight to the
recipient's sockets, and replay them."""

import json

from chalice import Response
from pynamodb.exceptions import UpdateError

from . import auth, push, ratelimit
from .errors import InvalidRequest, ParticipantNotFound, PayloadTooLarge
from .ids import ticket_id
from .models import (
    TICKET_TTL,
    Participant,
    Ticket,
    condition_failed,
    meeting_pk,
    now,
    participant_sk,
    ticket_sk,
    tickets_range,
)
from .schemas import AFTER_QUERY, MAX_TICKET_DATA, POST_TICKET, body_of, query_of

REPLAY_LIMIT = 200
LOST_NUMBERS = 1000  # more ticket numbers than a stack hands out in a snapshot interval


def _next_seq(mid: str, to: str) -> Participant:
    """Take the recipient's next ticket number; this also proves the recipient is present.
    Returns the recipient as the update left it: its number and its open connections."""
    recipient = Participant(meeting_pk(mid), participant_sk(to))
    try:
        recipient.update(actions=[Participant.ticket_seq.add(1)],
                         condition=Participant.state == "active")
    except UpdateError as err:
        if condition_failed(err):
            raise ParticipantNotFound() from err
        raise
    return recipient


def post(mid: str, request, sender: push.Sender) -> Response:
    _, me = auth.member(mid, request)
    body = body_of(request, POST_TICKET)
    data = body.get("data")
    if len(json.dumps(data, separators=(",", ":"))) > MAX_TICKET_DATA:
        raise PayloadTooLarge("Ticket data is over 16 KB.")
    ratelimit.buckets().take("ticket", me.pid)
    if body["to"] == me.pid:
        raise InvalidRequest("A ticket cannot be sent to yourself.")
    recipient = _next_seq(mid, body["to"])
    tid = ticket_id(int(recipient.ticket_seq))
    sent = now()
    ticket = Ticket(meeting_pk(mid), ticket_sk(body["to"], tid), tid=tid, sender=me.pid,
                    to=body["to"], kind=body["kind"], data=data, sent_at=sent,
                    expires=sent + TICKET_TTL)
    ticket.save()
    push.hand_over(sender, ticket, recipient)
    return Response(status_code=202, body={"ticket": ticket.public()})


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
        p.update(actions=[Participant.ticket_seq.add(by)])
        moved += 1
    return moved
