"""WebRTC tickets: store one per message, numbered per recipient, and replay them."""

import json

from chalice import Response
from pynamodb.exceptions import UpdateError

from . import auth, ratelimit
from .errors import ApiError
from .ids import ticket_id
from .meetings import check_mid
from .models import TICKET_TTL, Participant, Ticket, meeting_pk, now, participant_sk, ticket_sk
from .schemas import AFTER_QUERY, MAX_TICKET_DATA, POST_TICKET, validate

REPLAY_LIMIT = 200


def _next_seq(mid: str, to: str) -> int:
    """Take the recipient's next ticket number; this also proves the recipient is present."""
    recipient = Participant(meeting_pk(mid), participant_sk(to))
    try:
        recipient.update(actions=[Participant.ticket_seq.add(1)],
                         condition=Participant.state == "active")
    except UpdateError as err:
        if err.cause_response_code == "ConditionalCheckFailedException":
            raise ApiError(404, "participant_not_found",
                           "That participant is not in the meeting.") from err
        raise
    return int(recipient.ticket_seq)


def post(mid: str, request, body: dict) -> Response:
    body = validate(POST_TICKET, body)
    data = body.get("data")
    if len(json.dumps(data, separators=(",", ":"))) > MAX_TICKET_DATA:
        raise ApiError(413, "payload_too_large", "Ticket data is over 16 KB.")
    _, sender = auth.member(request, check_mid(mid))
    ratelimit.buckets().take("ticket", sender.pid)
    if body["to"] == sender.pid:
        raise ApiError(400, "invalid_request", "A ticket cannot be sent to yourself.")
    tid = ticket_id(_next_seq(mid, body["to"]))
    sent = now()
    ticket = Ticket(meeting_pk(mid), ticket_sk(body["to"], tid), tid=tid, sender=sender.pid,
                    to=body["to"], kind=body["kind"], data=data, sent_at=sent,
                    expires=sent + TICKET_TTL)
    ticket.save()
    return Response(status_code=202, body={"ticket": ticket.public()})


def replay(mid: str, request, query: dict) -> dict:
    """Tickets addressed to the caller with an id after `after`, oldest first."""
    query = validate(AFTER_QUERY, query)
    _, me = auth.member(request, check_mid(mid))
    after = query.get("after", "")
    low = ticket_sk(me.pid, after)
    high = ticket_sk(me.pid, "~")
    tickets = [t.public() for t in Ticket.query(meeting_pk(mid), Ticket.sk.between(low, high),
                                                consistent_read=True, limit=REPLAY_LIMIT + 1)
               if t.tid != after]
    return {"tickets": tickets[:REPLAY_LIMIT]}


