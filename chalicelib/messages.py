"""Chat: every participant's messages, pushed to the whole meeting and readable after join."""

from datetime import timedelta

from chalice import Response

from . import auth, ratelimit
from .config import settings
from .ids import message_id
from .meetings import check_mid
from .models import Message, meeting_pk, now
from .schemas import AFTER_QUERY, POST_MESSAGE, validate

HISTORY_LIMIT = 200


def post(mid: str, request, body: dict) -> Response:
    body = validate(POST_MESSAGE, body)
    _, me = auth.member(request, check_mid(mid))
    ratelimit.buckets().take("message", me.pid)
    cid = message_id()
    sent = now()
    message = Message(meeting_pk(mid), f"C#{cid}", cid=cid, sender=me.pid,
                      sender_name=me.name, text=body["text"], sent_at=sent,
                      expires=sent + timedelta(hours=settings().retention_hours + 24))
    message.save(condition=Message.pk.does_not_exist())
    return Response(status_code=201, body={"message": message.public()})


def history(mid: str, request, query: dict) -> dict:
    """Messages after the `after` id, oldest first (the newest HISTORY_LIMIT when no cursor)."""
    query = validate(AFTER_QUERY, query)
    auth.member(request, check_mid(mid))
    after = query.get("after")
    if after:
        items = Message.query(meeting_pk(mid), Message.sk.between(f"C#{after}", "C#~"),
                              limit=HISTORY_LIMIT + 1)
        messages = [m.public() for m in items if m.cid != after][:HISTORY_LIMIT]
    else:
        items = Message.query(meeting_pk(mid), Message.sk.startswith("C#"),
                              scan_index_forward=False, limit=HISTORY_LIMIT)
        messages = [m.public() for m in items][::-1]
    return {"messages": messages}
