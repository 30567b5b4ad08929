"""Two participants meet through the running local stack: REST writes, the stream handler
pushes over WebSocket, and a reconnect replays what was missed."""

from collections import Counter

from .stack_client import Rest, joined, left, ticket, updated


def test_two_participants_join_signal_reconnect_replay_and_leave(stack):
    rest = Rest(stack.api)
    created = rest.create("Signal check")
    mid = created["meeting"]["id"]
    ada = rest.join(mid, "Ada", hostKey=created["hostKey"])
    assert ada.ws_url == stack.ws

    with ada.connect() as ada_ws:
        bob = rest.join(mid, "Bob")
        assert ada_ws.wait_for(joined(bob.pid))["participant"]["name"] == "Bob"

        bob_ws = bob.connect()
        ada_ws.wait_for(updated(bob.pid, connected=True))

        offer = ada.send_ticket(bob, "description", {"type": "offer", "sdp": "v=0\r\n"})
        sent = [offer] + [ada.send_ticket(bob) for _ in range(3)]
        for expected in sent:
            got = bob_ws.wait_for(ticket(expected["id"]))["ticket"]
            assert got["from"] == ada.pid and got["kind"] == expected["kind"]
        received = list(dict.fromkeys(e["ticket"]["id"] for e in bob_ws.of("ticket")))
        assert received == [t["id"] for t in sent]  # first arrivals, in order

        bob_ws.close()
        ada_ws.wait_for(updated(bob.pid, connected=False))
        missed = [ada.send_ticket(bob), ada.send_ticket(bob, "bye", None)]

        with bob.connect() as bob_again:
            ada_ws.wait_for(updated(bob.pid, connected=True))
            replayed = bob.replay(after=received[-1])
            assert [t["id"] for t in replayed] == [t["id"] for t in missed]
            assert [t["kind"] for t in replayed] == ["candidates", "bye"]

            bob.leave()
            gone = ada_ws.wait_for(left(bob.pid))
            assert gone["reason"] == "left"
            assert gone["participant"]["state"] == "left"
            assert bob_again.of("participant-left") == []  # the leaver is not told about itself


def test_a_ticket_to_someone_offline_waits_for_replay(stack):
    rest = Rest(stack.api)
    mid = rest.create("Offline")["meeting"]["id"]
    ada, bob = rest.join(mid, "Ada"), rest.join(mid, "Bob")

    first = ada.send_ticket(bob)
    second = ada.send_ticket(bob)

    assert [t["id"] for t in bob.replay()] == [first["id"], second["id"]]
    assert [t["id"] for t in bob.replay(after=first["id"])] == [second["id"]]


def test_a_ticket_comes_straight_from_the_handler_and_again_from_the_stream(stack):
    """The fast path and the stream both deliver a ticket; the client drops the second by id."""
    rest = Rest(stack.api)
    mid = rest.create("Twice")["meeting"]["id"]
    ada, bob = rest.join(mid, "Ada"), rest.join(mid, "Bob")
    with bob.connect() as bob_ws:
        sent = [ada.send_ticket(bob) for _ in range(3)]

        def copies(_=None):
            return Counter(e["ticket"]["id"] for e in bob_ws.of("ticket"))

        bob_ws.wait_for(lambda e: all(copies()[t["id"]] >= 2 for t in sent))
        assert copies() == {t["id"]: 2 for t in sent}


def test_a_view_ticket_on_the_socket_reaches_the_sender_and_a_bad_one_is_an_error_frame(stack):
    """The page tells the one whose camera it shows how big it shows it (kind `view`); a
    malformed view is refused on the socket with the REST route's code, and nothing is stored."""
    rest = Rest(stack.api)
    mid = rest.create("Views")["meeting"]["id"]
    ada, bob = rest.join(mid, "Ada"), rest.join(mid, "Bob")
    with ada.connect() as ada_ws, bob.connect() as bob_ws:
        bad = {"action": "ticket", "to": bob.pid, "kind": "view", "data": {"view": "enormous"}, "key": "bad"}
        ada_ws.send(bad)
        refused = ada_ws.wait_for(lambda e: e.get("event") == "error" and e.get("key") == "bad")
        assert refused["error"]["code"] == "invalid_request"
        ada_ws.send({"action": "ticket", "to": bob.pid, "kind": "view", "data": {"view": "thumbnail"},
                     "key": "good"})
        stored = ada_ws.wait_for(lambda e: e.get("event") == "ticket-stored" and e["key"] == "good")
        got = bob_ws.wait_for(ticket(stored["ticket"]["id"]))["ticket"]
        assert (got["from"], got["kind"], got["data"]) == (ada.pid, "view", {"view": "thumbnail"})
        assert [t["id"] for t in bob.replay()] == [stored["ticket"]["id"]]
