"""Chat: every participant's messages, pushed to the whole meeting and readable after join."""

from datetime import timedelta

from chalice import Response

from . import auth, ratelimit
from .config import settings
from .ids import message_id
from .models import Message, meeting_pk, message_sk, messages_range, now
from .schemas import AFTER_QUERY, POST_MESSAGE, body_of, query_of

HISTORY_LIMIT = 200


def post(mid: str, request) -> Response:
    _, me = auth.member(mid, request)
    body = body_of(request, POST_MESSAGE)
    ratelimit.buckets().take("message", me.pid)
    cid = message_id()
    sent = now()
    message = Message(meeting_pk(mid), message_sk(cid), cid=cid, sender=me.pid,
                      sender_name=me.name, text=body["text"], sent_at=sent,
                      expires=sent + timedelta(hours=settings().retention_hours + 24))
    message.save(condition=Message.pk.does_not_exist())
    return Response(status_code=201, body={"message": message.public()})


def history(mid: str, request) -> dict:
    """Messages after the `after` id, oldest first (the newest HISTORY_LIMIT when no cursor)."""
    auth.member(mid, request)
    after = query_of(request, AFTER_QUERY).get("after")
    if after:
        items = Message.query(meeting_pk(mid), messages_range(after), limit=HISTORY_LIMIT + 1)
        messages = [m.public() for m in items if m.cid != after][:HISTORY_LIMIT]
    else:
        items = Message.query(meeting_pk(mid), messages_range(), scan_index_forward=False,
                              limit=HISTORY_LIMIT)
        messages = [m.public() for m in items][::-1]
    return {"messages": messages}
