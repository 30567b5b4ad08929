"""Storing a ticket exactly once: the recipient's next number, the ticket and the sender's
idempotency key are written in one transaction.

Why one transaction: a number taken by one write and used by a second is lost when the
request dies in between, and the recipient then waits on a gap nothing fills; and two
requests carrying one key must not both store. All or nothing, so a request that crashed
leaves nothing behind that could block a retry (no lease to wait out) or skip a number.
Why optimistic: the counter is read with the sender check (one BatchGetItem, see
`lookups`) and written back on condition that it has not moved; a request that lost a
race to another ticket for the same recipient reads again and retries.
"""

import logging
import random
import time

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from .errors import ParticipantNotFound, TryAgain
from .ids import ticket_id
from .models import (
    TICKET_TTL,
    Item,
    Participant,
    Ticket,
    TicketCounter,
    TicketKey,
    kept_until,
    meeting_pk,
    now,
    participant_sk,
    ticket_counter_sk,
    ticket_key_sk,
    ticket_sk,
    transaction,
)

log = logging.getLogger("parley")
MAX_ATTEMPTS = 8
_RETRYABLE = {"ConditionalCheckFailed", "TransactionConflict"}


def lookups(mid: str, sender: str, to: str, key: str | None) -> tuple:
    """The keys a store reads beforehand: recipient, its counter, and the sender's key."""
    pk = meeting_pk(mid)
    keys = [(pk, participant_sk(to)), (pk, ticket_counter_sk(to))]
    if key is not None:
        keys.append((pk, ticket_key_sk(sender, to, key)))
    return tuple(keys)


def store(mid: str, sender: str, body: dict, found: dict) -> tuple[Ticket, Participant | None,
                                                                     bool]:
    """Store the ticket of a valid `body` from `sender`, unless its key already stored one.

    `found`: the items `lookups` named, by sort key, as read just now. Returns the ticket,
    the recipient as read (for the direct push) and whether it was stored now (False: a
    repeat, answered with the ticket the key first stored).
    """
    to, key = body["to"], body.get("key")
    key_sk = ticket_key_sk(sender, to, key) if key is not None else None
    earlier = _live_key(found.get(key_sk))
    recipient = found.get(participant_sk(to))
    if earlier is not None:
        return _stored(mid, earlier), recipient, False
    if not isinstance(recipient, Participant) or not recipient.active:
        raise ParticipantNotFound()
    counter = found.get(ticket_counter_sk(to))
    floor = int(recipient.ticket_seq or 0)  # numbers given before counters had an item
    for attempt in range(MAX_ATTEMPTS):
        seq = max(int(counter.seq) if counter else 0, floor) + 1
        ticket = _ticket(mid, sender, body, seq)
        try:
            _write(mid, counter, ticket, key_sk)
            return ticket, recipient, True
        except TransactWriteError as err:
            reasons = [r.code if r else None for r in getattr(err, "cancellation_reasons", [])]
            if not _RETRYABLE & set(reasons):
                raise
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                floor = seq  # a ticket already holds this number: the counter was behind
        counter, earlier = _read_again(mid, to, key_sk)
        if earlier is not None:
            return _stored(mid, earlier), recipient, False
        time.sleep(random.uniform(0, 0.004 * (attempt + 1)))  # noqa: S311 (jitter, not a secret)
    log.warning("gave up storing a ticket to %s after %d attempts", to, MAX_ATTEMPTS)
    raise TryAgain("Too many tickets at once; please retry.")


def _ticket(mid: str, sender: str, body: dict, seq: int) -> Ticket:
    tid = ticket_id(seq)
    sent = now()
    return Ticket(meeting_pk(mid), ticket_sk(body["to"], tid), tid=tid, sender=sender,
                  to=body["to"], kind=body["kind"], data=body.get("data"), sent_at=sent,
                  expires=sent + TICKET_TTL)


def _write(mid: str, counter: TicketCounter | None, ticket: Ticket, key_sk: str | None) -> None:
    """Counter, ticket and key in one transaction; the counter only if it did not move."""
    pk = meeting_pk(mid)
    moved = TicketCounter.pk.does_not_exist() if counter is None else (
        TicketCounter.seq == counter.seq)
    with transaction() as tx:
        tx.save(TicketCounter(pk, ticket_counter_sk(ticket.to), seq=int(ticket.tid),
                              expires=kept_until()), condition=moved)
        tx.save(ticket, condition=Ticket.pk.does_not_exist())
        if key_sk is not None:
            tx.save(TicketKey(pk, key_sk, tid=ticket.tid, to=ticket.to, expires=ticket.expires),
                    condition=TicketKey.pk.does_not_exist() | (TicketKey.expires < now()))


def _read_again(mid: str, to: str, key_sk: str | None):
    """After a lost race: the counter as it is now, and the key if the winner stored it."""
    pk = meeting_pk(mid)
    keys = [(pk, ticket_counter_sk(to))] + ([(pk, key_sk)] if key_sk else [])
    found = {item.sk: item for item in Item.batch_get(keys, consistent_read=True)}
    return found.get(ticket_counter_sk(to)), _live_key(found.get(key_sk))


def _live_key(item) -> TicketKey | None:
    return item if isinstance(item, TicketKey) and item.live(now()) else None


def _stored(mid: str, key: TicketKey) -> Ticket:
    """The ticket a key stored. It expires with its key, and a purge deletes both, so a
    live key without its ticket is a bug; say so and let the client retry."""
    try:
        return Ticket.get(meeting_pk(mid), ticket_sk(key.to, key.tid), consistent_read=True)
    except DoesNotExist as err:
        log.error("ticket key %s names ticket %s, which is gone", key.sk, key.tid)
        raise TryAgain() from err


def skip_numbers(recipient: Participant, by: int) -> None:
    """Move one recipient's numbering `by` ahead (the local stack after a restart)."""
    pk, sk = meeting_pk(recipient.mid), ticket_counter_sk(recipient.pid)
    try:
        seq = int(TicketCounter.get(pk, sk, consistent_read=True).seq)
    except DoesNotExist:
        seq = 0
    seq = max(seq, int(recipient.ticket_seq or 0)) + by
    TicketCounter(pk, sk, seq=seq, expires=kept_until()).save()
