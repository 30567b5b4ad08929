"""Client messages on an open WebSocket (`$default`): ping, and a ticket sent over the socket,
authenticated by the connection and stored and pushed exactly as the REST route does."""

import json

import pytest
from chalice.app import WebsocketEvent

from chalicelib import push, ratelimit, ws_actions
from chalicelib.config import load
from tests.unit.test_connections import _event
from tests.unit.test_push import RecordingGateway

OFFER = {"type": "offer", "sdp": "v=0\r\n"}


def _say(gateway, cid, body):
    """Send one client message on connection `cid`; returns the reply frame it got."""
    raw = body if isinstance(body, str) else json.dumps(body)
    before = len(gateway.to(cid))
    ws_actions.message(WebsocketEvent(_event("$default", cid, body=raw), None), gateway,
                       push.Sender(gateway, load()))
    replies = gateway.to(cid)[before:]
    assert len(replies) == 1, replies
    return replies[0]


@pytest.mark.parametrize("body,event", [
    ('{"action": "ping"}', "pong"),
    ('{"action": "dance"}', "error"),
    ("not json", "error"),
    ("[1, 2]", "error"),
    ("x" * 40000, "error"),
])
def test_ping_gets_pong_and_anything_else_an_error_frame(body, event):
    gateway = RecordingGateway()
    assert _say(gateway, "c1", body)["event"] == event


@pytest.fixture
def sockets(client, meeting, app):
    """Alice and Bob joined, each with an open WebSocket (through `$connect`)."""
    import app as parley

    mid = meeting["meeting"]["id"]
    people = {}
    for name in ("alice", "bob"):
        joined = client.join(mid, name)
        cid = f"ws-{name}-{mid}"
        assert parley.ws_connect(_event("$connect", cid, joined["token"]), None)["statusCode"] == 200
        people[name] = (joined["participant"]["id"], cid, joined["token"])
    return mid, people


def _ticket(to, **extra):
    return {"action": "ticket", "to": to, "kind": "description", "data": OFFER, **extra}


def test_a_ticket_on_the_socket_is_stored_pushed_and_confirmed(client, sockets):
    mid, people = sockets
    (alice, alice_cid, _), (bob, bob_cid, bob_token) = people["alice"], people["bob"]
    gateway = RecordingGateway()
    reply = _say(gateway, alice_cid, _ticket(bob, key="ws-1"))
    assert reply["event"] == "ticket-stored" and reply["key"] == "ws-1"
    assert reply["ticket"]["from"] == alice and reply["ticket"]["id"] == "000000000001"
    assert gateway.to(bob_cid) == [{"event": "ticket", "ticket": reply["ticket"]}]
    replayed = client.call("GET", f"/meetings/{mid}/tickets", token=bob_token).json["tickets"]
    assert replayed == [reply["ticket"]]


def test_one_key_over_rest_and_socket_is_one_ticket(client, sockets):
    mid, people = sockets
    (_, alice_cid, alice_token), (bob, _, bob_token) = people["alice"], people["bob"]
    gateway = RecordingGateway()
    over_socket = _say(gateway, alice_cid, _ticket(bob, key="both"))["ticket"]
    over_rest = client.call("POST", f"/meetings/{mid}/tickets",
                            {"to": bob, "kind": "bye", "key": "both"}, token=alice_token)
    assert (over_rest.status, over_rest.json["ticket"]) == (202, over_socket)
    again = _say(gateway, alice_cid, _ticket(bob, key="both"))
    assert again["event"] == "ticket-stored" and again["ticket"] == over_socket
    replayed = client.call("GET", f"/meetings/{mid}/tickets", token=bob_token).json["tickets"]
    assert len(replayed) == 1


@pytest.mark.parametrize("change,code", [
    ({"kind": "telepathy"}, "invalid_request"),
    ({"kind": "view", "data": {"view": "sideways"}}, "invalid_request"),
    ({"kind": "view", "data": None}, "invalid_request"),
    ({"key": "no spaces"}, "invalid_request"),
    ({"extra": 1}, "invalid_request"),
    ({"data": {"type": "offer", "sdp": "a" * (17 * 1024)}}, "payload_too_large"),
    ({"to": "nobodyHere01"}, "participant_not_found"),
])
def test_a_bad_ticket_gets_the_rest_routes_error_code_and_stores_nothing(client, sockets, change,
                                                                         code):
    mid, people = sockets
    (_, alice_cid, _), (bob, bob_cid, bob_token) = people["alice"], people["bob"]
    gateway = RecordingGateway()
    reply = _say(gateway, alice_cid, {**_ticket(bob, key="k"), **change})
    assert reply["event"] == "error" and reply["error"]["code"] == code
    assert reply["action"] == "ticket"
    assert gateway.to(bob_cid) == []
    assert client.call("GET", f"/meetings/{mid}/tickets", token=bob_token).json["tickets"] == []


def test_a_ticket_to_oneself_is_refused(sockets):
    _, people = sockets
    alice, alice_cid, _ = people["alice"]
    reply = _say(RecordingGateway(), alice_cid, _ticket(alice))
    assert reply["error"]["code"] == "invalid_request" and reply["key"] is None


def test_a_socket_nobody_opened_cannot_send_tickets(sockets):
    _, people = sockets
    reply = _say(RecordingGateway(), "never-connected", _ticket(people["bob"][0], key="x"))
    assert (reply["error"]["code"], reply["key"]) == ("participant_gone", "x")


def test_a_socket_of_someone_who_left_cannot_send_tickets(client, sockets):
    mid, people = sockets
    _, alice_cid, alice_token = people["alice"]
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=alice_token)
    reply = _say(RecordingGateway(), alice_cid, _ticket(people["bob"][0]))
    assert reply["error"]["code"] == "participant_gone"


def test_socket_tickets_share_the_rest_routes_rate_limit(client, sockets, monkeypatch):
    mid, people = sockets
    (_, alice_cid, alice_token), (bob, _, _) = people["alice"], people["bob"]
    monkeypatch.setattr(ratelimit, "buckets", lambda: limited)
    limited = ratelimit.Buckets({"ticket": ratelimit.Limit(burst=2, per_second=0.01)})
    gateway = RecordingGateway()
    assert _say(gateway, alice_cid, _ticket(bob))["event"] == "ticket-stored"
    rest = client.call("POST", f"/meetings/{mid}/tickets", {"to": bob, "kind": "bye"},
                       token=alice_token)
    assert rest.status == 202
    reply = _say(gateway, alice_cid, _ticket(bob))
    assert reply["error"]["code"] == "rate_limited" and reply["retryAfter"] >= 1
