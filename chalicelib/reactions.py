"""Reactions: an emoji from one participant, pushed once to everyone else in the meeting."""

from chalice import Response

from . import auth, ratelimit
from .ids import reaction_id
from .models import REACTION_TTL, Reaction, meeting_pk, now, reaction_sk
from .schemas import POST_REACTION, body_of


def post(mid: str, request) -> Response:
    """POST .../reactions `{emoji}`: 202 with the reaction. It is stored only for the
    table's stream to push it (to the others: the sender's page shows its own at once),
    and expires after REACTION_TTL."""
    _, me = auth.member(mid, request)
    body = body_of(request, POST_REACTION)
    ratelimit.buckets().take("reaction", me.pid)
    rid = reaction_id()
    sent = now()
    reaction = Reaction(meeting_pk(mid), reaction_sk(rid), rid=rid, sender=me.pid,
                        emoji=body["emoji"], sent_at=sent, expires=sent + REACTION_TTL)
    reaction.save(condition=Reaction.pk.does_not_exist())
    return Response(status_code=202, body={"reaction": reaction.public()})
