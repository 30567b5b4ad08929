"""Idempotent ticket POSTs: a `key` makes a retried POST answer with the ticket the first
try stored, never a second ticket; and numbers stay gap-free whatever races."""

import threading

import pytest

from chalicelib import push, signaling, ticket_store
from chalicelib.config import load
from chalicelib.models import (
    Item,
    Ticket,
    TicketCounter,
    TicketKey,
    meeting_pk,
    ticket_counter_sk,
    ticket_key_sk,
)
from tests.fixtures.dynamo import direct_request
from tests.unit.test_push import RecordingGateway

OFFER = {"type": "offer", "sdp": "v=0\r\n"}


@pytest.fixture
def pair(client, meeting):
    mid = meeting["meeting"]["id"]
    return mid, client.join(mid, "Alice"), client.join(mid, "Bob")


def _post(client, mid, sender, to, key=None, kind="description", data=OFFER):
    body = {"to": to["participant"]["id"], "kind": kind, "data": data}
    if key is not None:
        body["key"] = key
    return client.call("POST", f"/meetings/{mid}/tickets", body, token=sender["token"])


def _stored(client, mid, who):
    return client.call("GET", f"/meetings/{mid}/tickets", token=who["token"]).json["tickets"]


def test_same_key_twice_stores_one_ticket_and_answers_with_it_both_times(client, pair):
    mid, alice, bob = pair
    first = _post(client, mid, alice, bob, key="k-1")
    again = _post(client, mid, alice, bob, key="k-1")
    assert (first.status, again.status) == (202, 202)
    assert again.json["ticket"] == first.json["ticket"]
    assert [t["id"] for t in _stored(client, mid, bob)] == [first.json["ticket"]["id"]]


def test_a_repeat_answers_with_the_first_ticket_even_if_its_body_differs(client, pair):
    mid, alice, bob = pair
    first = _post(client, mid, alice, bob, key="same")
    again = _post(client, mid, alice, bob, key="same", kind="bye", data=None)
    assert again.json["ticket"] == first.json["ticket"]
    assert again.json["ticket"]["kind"] == "description"


def test_different_keys_store_two_tickets(client, pair):
    mid, alice, bob = pair
    ids = [_post(client, mid, alice, bob, key=k).json["ticket"]["id"] for k in ("a", "b")]
    assert ids == ["000000000001", "000000000002"]
    assert [t["id"] for t in _stored(client, mid, bob)] == ids


def test_a_key_belongs_to_one_sender_and_one_recipient(client, pair):
    mid, alice, bob = pair
    carol = client.join(mid, "Carol")
    to_bob = _post(client, mid, alice, bob, key="shared").json["ticket"]
    to_carol = _post(client, mid, alice, carol, key="shared").json["ticket"]
    from_carol = _post(client, mid, carol, bob, key="shared").json["ticket"]
    assert (to_bob["to"], to_carol["to"]) == (bob["participant"]["id"], carol["participant"]["id"])
    assert from_carol["id"] == "000000000002" and from_carol["from"] == carol["participant"]["id"]


@pytest.mark.parametrize("key", ["", "a" * 65, "has space", "semi;colon", "ü", 7, None])
def test_a_bad_key_is_400_and_stores_nothing(client, pair, key):
    mid, alice, bob = pair
    body = {"to": bob["participant"]["id"], "kind": "bye", "key": key}
    resp = client.call("POST", f"/meetings/{mid}/tickets", body, token=alice["token"])
    assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request")
    assert "key" in resp.json["error"]["message"]
    assert _stored(client, mid, bob) == []
    assert list(Item.query(meeting_pk(mid), Item.sk.startswith("K#"))) == []


def test_a_64_character_key_is_fine(client, pair):
    mid, alice, bob = pair
    assert _post(client, mid, alice, bob, key="A-_9" * 16).status == 202


def _concurrently(n, work):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as err:  # noqa: BLE001 (the test reports it)
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def _direct_post(mid, sender, to, key):
    body = {"to": to["participant"]["id"], "kind": "bye"}
    if key is not None:
        body["key"] = key
    resp = signaling.post(mid, direct_request(body, sender["token"]),
                          push.Sender(RecordingGateway(), load()))
    return resp.body["ticket"]


def test_concurrent_posts_with_one_key_store_one_ticket(client, pair):
    mid, alice, bob = pair
    tickets = _concurrently(6, lambda i: _direct_post(mid, alice, bob, "race"))
    assert len({t["id"] for t in tickets}) == 1
    assert [t["id"] for t in _stored(client, mid, bob)] == [tickets[0]["id"]]


def test_concurrent_posts_to_one_recipient_get_every_number_once(client, pair):
    mid, alice, bob = pair
    carol = client.join(mid, "Carol")
    senders = [alice, carol]
    tickets = _concurrently(8, lambda i: _direct_post(mid, senders[i % 2], bob,
                                                      f"k{i}" if i % 4 else None))
    assert sorted(t["id"] for t in tickets) == [f"{i:012d}" for i in range(1, 9)]
    assert [t["id"] for t in _stored(client, mid, bob)] == [f"{i:012d}" for i in range(1, 9)]


def test_a_failed_store_leaves_no_key_and_no_gap(client, pair, monkeypatch):
    """All or nothing: a request that dies in the write leaves nothing to block a retry,
    and no number is used up, so the recipient never waits on a gap."""
    mid, alice, bob = pair

    class Crash(Exception):
        pass

    def crash(*args, **kwargs):
        raise Crash()

    real = ticket_store._write
    monkeypatch.setattr(ticket_store, "_write", crash)
    with pytest.raises(Crash):
        _direct_post(mid, alice, bob, "retry-me")
    monkeypatch.setattr(ticket_store, "_write", real)
    retried = _direct_post(mid, alice, bob, "retry-me")
    assert retried["id"] == "000000000001"
    assert [t["id"] for t in _stored(client, mid, bob)] == ["000000000001"]


def test_key_items_expire_with_their_ticket_and_live_in_the_meeting_partition(client, pair):
    mid, alice, bob = pair
    ticket = _post(client, mid, alice, bob, key="ttl").json["ticket"]
    pk = meeting_pk(mid)
    key = TicketKey.get(pk, ticket_key_sk(alice["participant"]["id"],
                                           bob["participant"]["id"], "ttl"))
    stored = Ticket.get(pk, f"T#{bob['participant']['id']}#{ticket['id']}")
    assert key.tid == ticket["id"] and key.expires == stored.expires
    counter = TicketCounter.get(pk, ticket_counter_sk(bob["participant"]["id"]))
    assert int(counter.seq) == 1 and counter.expires > stored.expires


def test_an_expired_key_counts_as_absent(client, pair):
    from datetime import timedelta

    from chalicelib.models import now

    mid, alice, bob = pair
    _post(client, mid, alice, bob, key="old")
    key = TicketKey.get(meeting_pk(mid), ticket_key_sk(alice["participant"]["id"],
                                                       bob["participant"]["id"], "old"))
    key.update(actions=[TicketKey.expires.set(now() - timedelta(seconds=1))])
    again = _post(client, mid, alice, bob, key="old")
    assert again.json["ticket"]["id"] == "000000000002"


def test_a_repeat_is_pushed_again_to_the_recipient(client, pair):
    mid, alice, bob = pair
    from tests.unit.test_push import _connect

    _connect(mid, bob["participant"]["id"], "ws-bob-repeat")
    gateway = RecordingGateway()
    sender = push.Sender(gateway, load())
    body = {"to": bob["participant"]["id"], "kind": "bye", "key": "twice"}
    for _ in range(2):
        signaling.post(mid, direct_request(body, alice["token"]), sender)
    assert [f["ticket"]["id"] for f in gateway.to("ws-bob-repeat")] == ["000000000001"] * 2
