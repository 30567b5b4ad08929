"""Chat: messages to the whole meeting, and direct messages (`to`) that only their sender
and recipient ever see, pushed at once and readable after join, page by page."""

from datetime import timedelta

from chalice import Response

from . import auth, ratelimit
from .config import settings
from .errors import InvalidRequest, ParticipantNotFound
from .ids import message_id
from .models import Message, Participant, meeting_pk, message_sk, messages_range, now, participant_sk
from .schemas import HISTORY_QUERY, POST_MESSAGE, body_of, query_of

HISTORY_LIMIT = 200


def _checked(body: dict, sender: str) -> dict:
    if body.get("to") == sender:
        raise InvalidRequest("A direct message cannot be sent to yourself.")
    return body


def post(mid: str, request) -> Response:
    """POST .../messages `{text, to?}`: 201 with the message. A direct message's recipient
    is read in the same BatchGetItem as the sender and must be someone else present."""
    claims = auth.claims(mid, request)
    body = auth.checked_body(claims, mid,
                             lambda: _checked(body_of(request, POST_MESSAGE), claims["sub"]))
    to = body.get("to")
    also = [(meeting_pk(mid), participant_sk(to))] if to else []
    _, me, found = auth.member_with(claims["sub"], mid, also)
    ratelimit.buckets().take("message", me.pid)
    recipient = found.get(participant_sk(to)) if to else None
    if to and not (isinstance(recipient, Participant) and recipient.active):
        raise ParticipantNotFound()
    cid = message_id()
    sent = now()
    message = Message(meeting_pk(mid), message_sk(cid), cid=cid, sender=me.pid,
                      sender_name=me.name, to=to, to_name=recipient.name if recipient else None,
                      text=body["text"], sent_at=sent,
                      expires=sent + timedelta(hours=settings().retention_hours + 24))
    message.save(condition=Message.pk.does_not_exist())
    return Response(status_code=201, body={"message": message.public()})


def history(mid: str, request) -> dict:
    """The messages the caller may see, oldest first, at most HISTORY_LIMIT: the newest
    ones (no cursor), those after the `after` id, or those before the `before` id.
    `more`: whether further messages lie beyond the page in the direction read (older
    ones without a cursor and with `before`, newer ones with `after`)."""
    _, me = auth.member(mid, request)
    query = query_of(request, HISTORY_QUERY)
    after, before = query.get("after"), query.get("before")
    if after and before:
        raise InvalidRequest("Give either after or before, not both.")
    if after:
        page, more = _visible(mid, me.pid, messages_range(after=after), after, forward=True)
    else:
        page, more = _visible(mid, me.pid, messages_range(before=before), before,
                              forward=False)
        page.reverse()
    return {"messages": [m.public() for m in page], "more": more}


def _visible(mid: str, pid: str, key_range, cursor: str | None,
             forward: bool) -> tuple[list[Message], bool]:
    """Up to HISTORY_LIMIT messages `pid` may see in `key_range` (the cursor itself left
    out), in the order read, and whether more follow.

    DynamoDB drops the direct messages of others (the filter), but a Query's Limit counts
    the items read before the filter, so one page may hold few visible messages or none:
    the iterator reads page after page until it has one more than a full page, or the
    range ends.
    """
    visible = []
    for message in Message.query(meeting_pk(mid), key_range, scan_index_forward=forward,
                                 filter_condition=Message.visible_to(pid),
                                 page_size=HISTORY_LIMIT + 1):
        if message.cid == cursor:
            continue
        visible.append(message)
        if len(visible) > HISTORY_LIMIT:
            break
    return visible[:HISTORY_LIMIT], len(visible) > HISTORY_LIMIT
