"""Idempotent tickets and tickets over the WebSocket, through the running local stack."""

from concurrent.futures import ThreadPoolExecutor

from .stack_client import Rest, event, ticket


def _pair(stack, name):
    rest = Rest(stack.api)
    mid = rest.create(name)["meeting"]["id"]
    return rest, mid, rest.join(mid, "Ada"), rest.join(mid, "Bob")


def _post(rest, mid, sender, to, key=None, kind="bye"):
    body = {"to": to.pid, "kind": kind}
    if key is not None:
        body["key"] = key
    return rest.call("POST", f"/meetings/{mid}/tickets", body, sender.token)


def test_a_retried_post_with_its_key_stores_one_ticket(stack):
    rest, mid, ada, bob = _pair(stack, "Retry")
    first, again = (_post(rest, mid, ada, bob, "retry-1") for _ in range(2))
    assert (first.status, again.status) == (202, 202)
    assert again.json["ticket"] == first.json["ticket"]
    other = _post(rest, mid, ada, bob, "retry-2")
    assert other.json["ticket"]["id"] != first.json["ticket"]["id"]
    assert [t["id"] for t in bob.replay()] == [first.json["ticket"]["id"],
                                               other.json["ticket"]["id"]]


def test_a_bad_key_is_400_and_stores_nothing(stack):
    rest, mid, ada, bob = _pair(stack, "Bad key")
    for key in ("", "x" * 65, "a/b"):
        reply = _post(rest, mid, ada, bob, key)
        assert (reply.status, reply.json["error"]["code"]) == (400, "invalid_request")
    assert bob.replay() == []


def test_concurrent_posts_and_socket_messages_with_one_key_store_one_ticket(stack):
    rest, mid, ada, bob = _pair(stack, "Race")
    with ada.connect() as ada_ws:
        frame = {"action": "ticket", "to": bob.pid, "kind": "bye", "key": "race"}
        with ThreadPoolExecutor(6) as pool:
            posts = [pool.submit(_post, rest, mid, ada, bob, "race") for _ in range(5)]
            for _ in range(5):
                ada_ws.send(frame)
            replies = [p.result() for p in posts]
        confirmed = [ada_ws.wait_for(event("ticket-stored")) for _ in range(5)]
    ids = {r.json["ticket"]["id"] for r in replies} | {c["ticket"]["id"] for c in confirmed}
    assert len(ids) == 1
    assert [t["id"] for t in bob.replay()] == list(ids)


def test_a_ticket_sent_on_the_socket_reaches_the_recipients_socket(stack):
    rest, mid, ada, bob = _pair(stack, "Socket ticket")
    with ada.connect() as ada_ws, bob.connect() as bob_ws:
        offer = {"type": "offer", "sdp": "v=0\r\n"}
        ada_ws.send({"action": "ticket", "to": bob.pid, "kind": "description", "data": offer,
                     "key": "offer-1"})
        stored = ada_ws.wait_for(event("ticket-stored"))
        assert stored["key"] == "offer-1" and stored["ticket"]["data"] == offer
        got = bob_ws.wait_for(ticket(stored["ticket"]["id"]))
        assert got["ticket"] == stored["ticket"]

        ada_ws.send({"action": "ticket", "to": bob.pid, "kind": "telepathy", "key": "bad-1"})
        refused = ada_ws.wait_for(event("error"))
        assert (refused["error"]["code"], refused["key"]) == ("invalid_request", "bad-1")
    assert [t["id"] for t in bob.replay()] == [stored["ticket"]["id"]]
