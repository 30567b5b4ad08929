"""The lobby and the scheduled start over real HTTP and WebSocket: a lobby join answers 202
and its socket hears nothing of a live meeting until it is admitted, then everything a
join answers; a waiting token is refused everywhere but its socket and leaving, changing
nothing; deny; admit all into a meeting that fills; two moderators admitting at once
admit once; waiting guests told whether a host is present; joins before, at and after a
scheduled start, a host starting early, and bad starts refused."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.table import Store

from .stack_client import Rest, event, join_all, joined, message, ticket, updated


def _call(who, method, path, body=None):
    """A request as `who` to a path under their meeting."""
    return who.rest.call(method, f"/meetings/{who.mid}{path}", body, who.token)


def _heard(ws, match) -> dict:
    """An event `match` accepts, received already or waited for."""
    return next((e for e in ws.events if match(e)), None) or ws.wait_for(match)


def _code(reply):
    return reply.status, reply.json["error"]["code"]


def _status(host_present: bool):
    return lambda e: e == {"event": "lobby-status", "hostPresent": host_present}


def _lobby_left(pid, reason):
    return lambda e: (e.get("event") == "lobby-left" and e["participant"]["id"] == pid
                      and e["reason"] == reason)


@pytest.fixture
def room(stack):
    """Hana (host), Cato (co-host) and Gus (guest), each with a socket that has heard of
    everyone; then the lobby is switched on. Five seats."""
    rest = Rest(stack.api)
    created = rest.create("Lobby", maxParticipants=5)
    mid = created["meeting"]["id"]
    hana = rest.join(mid, "Hana", hostKey=created["hostKey"])
    people, sockets = {"hana": hana}, {"hana": hana.connect()}
    try:
        join_all(rest, mid, ("Cato", "Gus"), people, sockets)
        assert _call(hana, "PATCH", f"/participants/{people['cato'].pid}",
                     {"role": "cohost"}).status == 200
        reply = _call(hana, "PATCH", "", {"lobby": True})
        assert (reply.status, reply.json["meeting"]["lobby"]) == (200, True)
        for ws in sockets.values():
            ws.wait_for(updated(people["cato"].pid, role="cohost"))
            ws.wait_for(lambda e: e.get("event") == "meeting-updated" and e["meeting"]["lobby"])
        people["key"] = created["hostKey"]
        yield people, sockets
    finally:
        for ws in sockets.values():
            ws.close()


def _marker(people, sockets, text="marker") -> None:
    """A chat message everyone present waits for: the stream pushes in write order, so
    whatever was written before it has arrived by then."""
    people["hana"].say(text)
    for ws in sockets.values():
        ws.wait_for(message(text))


def test_a_lobby_socket_hears_nothing_of_the_meeting_until_admitted_then_the_join_payload(
        stack, room):
    people, sockets = room
    hana, gus = people["hana"], people["gus"]
    rest = hana.rest
    wes = rest.wait(hana.mid, "Wes")
    for name in ("hana", "cato"):
        lobby_joined = sockets[name].wait_for(event("lobby-joined"))
        assert (lobby_joined["participant"]["id"], lobby_joined["participant"]["state"]) == (
            wes.pid, "waiting")
    with wes.connect() as wes_ws:
        wes_ws.wait_for(_status(True))  # told on connect: a host is here
        # a live meeting: tickets, chat, a reaction, a hand, someone coming and going
        hana.send_ticket(gus)
        gus.send_ticket(hana, "bye")
        gus.say("hello all")
        assert gus.react("👍").status == 202
        gus.update(hand=True)
        hank = rest.join(hana.mid, "Hank", hostKey=people["key"])
        hank.leave()
        _marker(people, sockets)
        assert sockets["gus"].of("ticket") and sockets["hana"].of("reaction")

        reply = _call(people["cato"], "POST", f"/lobby/{wes.pid}/admit")
        assert (reply.status, reply.json["participant"]["state"]) == (200, "active")
        admitted = wes_ws.wait_for(event("admitted"))
        assert [e["event"] for e in wes_ws.events] == ["lobby-status", "admitted"]
        assert set(admitted) == {"event", "participant", "participants", "meeting",
                                 "iceServers"}
        assert (admitted["participant"]["id"], admitted["participant"]["state"]) == (
            wes.pid, "active")
        assert [p["name"] for p in admitted["participants"]] == ["Hana", "Cato", "Gus"]
        assert admitted["meeting"]["participantCount"] == 4 and admitted["iceServers"]
        for name, ws in sockets.items():
            _heard(ws, joined(wes.pid))
            if name != "gus":
                _heard(ws, _lobby_left(wes.pid, "admitted"))
        assert sockets["gus"].of("lobby-left") == [] and sockets["gus"].of("lobby-joined") == []
        # a participant like any other now, with the same token and socket
        assert _call(wes, "GET", "/participants").status == 200
        tid = hana.send_ticket(wes)["id"]
        wes_ws.wait_for(ticket(tid))
        wes.say("thanks")
        sockets["gus"].wait_for(message("thanks"))


def _waiting_routes(people, wes):
    hana, gus = people["hana"].pid, people["gus"].pid
    return [
        ("GET", "/participants", None),
        ("PATCH", "/participants/me", {"audio": False}),
        ("PATCH", "/participants/me", {"nonsense": True}),
        ("POST", "/tickets", {"to": hana, "kind": "bye"}),
        ("POST", "/tickets", {"to": "x", "kind": "nonsense"}),
        ("GET", "/tickets", None),
        ("POST", "/messages", {"text": "let me in"}),
        ("POST", "/messages", {"text": "psst", "to": hana}),
        ("GET", "/messages", None),
        ("POST", "/reactions", {"emoji": "👍"}),
        ("PATCH", "", {"locked": True}),
        ("PATCH", "", {"lobby": False}),
        ("DELETE", "", None),
        ("POST", f"/participants/{gus}/mute", None),
        ("POST", f"/participants/{gus}/ask-unmute", None),
        ("POST", "/mute-all", None),
        ("PATCH", f"/participants/{gus}", {"hand": False}),
        ("PATCH", f"/participants/{gus}", {"role": "host"}),
        ("DELETE", f"/participants/{gus}", None),
        ("GET", "/lobby", None),
        ("POST", f"/lobby/{wes.pid}/admit", None),
        ("POST", f"/lobby/{wes.pid}/deny", None),
        ("POST", "/lobby/admit-all", None),
        ("POST", "/lobby/deny-all", None),
    ]


def test_a_waiting_token_is_refused_on_every_other_route_and_changes_nothing(stack, room):
    people, sockets = room
    wes = people["hana"].rest.wait(people["hana"].mid, "Wes")
    partition = Store(stack).partition
    with wes.connect() as wes_ws:
        wes_ws.wait_for(_status(True))
        _marker(people, sockets, "before")
        heard = {name: len(ws.events) for name, ws in sockets.items()}
        before = partition(wes.mid)
        wrong = []
        for method, path, body in _waiting_routes(people, wes):
            reply = _call(wes, method, path, body)
            if _code(reply) != (403, "participant_waiting"):
                wrong.append(f"{method} {path}: {reply.status} {reply.json}")
        wes_ws.send({"action": "ticket", "to": people["hana"].pid, "kind": "bye", "key": "k1"})
        refused = wes_ws.wait_for(event("error"))
        assert (refused["error"]["code"], refused["key"]) == ("participant_waiting", "k1")
        wes_ws.send({"action": "ping"})
        wes_ws.wait_for(event("pong"))
        assert wrong == [], "\n".join(wrong)
        assert partition(wes.mid) == before
        _marker(people, sockets, "after")
        for name, ws in sockets.items():  # nothing was pushed between the markers
            assert [e["event"] for e in ws.events[heard[name]:]] == ["message"], name
        assert [e["event"] for e in wes_ws.events] == ["lobby-status", "error", "pong"]
        # the one other door: leaving the lobby
        assert _call(wes, "DELETE", "/participants/me").status == 204
        for name in ("hana", "cato"):
            sockets[name].wait_for(_lobby_left(wes.pid, "left"))
    assert _code(_call(wes, "GET", "/participants")) == (403, "participant_gone")
    assert _call(people["hana"], "GET", "/lobby").json == {"waiting": []}


def test_a_denied_guest_is_told_and_their_token_stops_working(stack, room):
    people, sockets = room
    wes = people["hana"].rest.wait(people["hana"].mid, "Wes")
    with wes.connect() as wes_ws:
        wes_ws.wait_for(_status(True))
        reply = _call(people["hana"], "POST", f"/lobby/{wes.pid}/deny")
        assert (reply.status, reply.json["participant"]["state"]) == (200, "denied")
        wes_ws.wait_for(event("denied"))
        for name in ("hana", "cato"):
            sockets[name].wait_for(_lobby_left(wes.pid, "denied"))
    for action in ("admit", "deny"):
        assert _code(_call(people["cato"], "POST", f"/lobby/{wes.pid}/{action}")) == (
            409, "not_waiting")
    assert _code(_call(wes, "GET", "/participants")) == (403, "participant_gone")
    with pytest.raises(Exception):  # noqa: B017 (the upgrade is refused: 403)
        wes.connect().close()
    _marker(people, sockets)
    assert all(not any(joined(wes.pid)(e) for e in ws.events) for ws in sockets.values())


def test_admit_all_fills_the_meeting_oldest_first_and_the_rest_keep_waiting(stack):
    rest = Rest(stack.api)
    created = rest.create("Full lobby", maxParticipants=3, lobby=True)
    mid = created["meeting"]["id"]
    hana = rest.join(mid, "Hana", hostKey=created["hostKey"])
    guests = [rest.wait(mid, f"G{n}") for n in range(4)]
    sockets = [g.connect() for g in guests]
    try:
        for ws in sockets:
            ws.wait_for(_status(True))
        reply = _call(hana, "POST", "/lobby/admit-all")
        assert (reply.status, reply.json) == (200, {"admitted": 2, "denied": 0, "full": True})
        for ws in sockets[:2]:
            ws.wait_for(event("admitted"))
        queue = _call(hana, "GET", "/lobby").json["waiting"]
        assert [p["id"] for p in queue] == [g.pid for g in guests[2:]]
        assert _code(_call(hana, "POST", f"/lobby/{guests[2].pid}/admit")) == (
            409, "meeting_full")
        assert rest.call("GET", f"/meetings/{mid}").json["meeting"]["participantCount"] == 3
        reply = _call(hana, "POST", "/lobby/deny-all")
        assert (reply.status, reply.json) == (200, {"admitted": 0, "denied": 2, "full": False})
        for ws in sockets[2:]:
            ws.wait_for(event("denied"))
            assert [e["event"] for e in ws.events] == ["lobby-status", "denied"]
    finally:
        for ws in sockets:
            ws.close()


def test_two_moderators_admitting_one_guest_at_once_admit_once(stack, room):
    people, sockets = room
    wes = people["hana"].rest.wait(people["hana"].mid, "Wes")
    barrier = threading.Barrier(2)
    replies = []

    def admit(who):
        barrier.wait()
        replies.append(_call(who, "POST", f"/lobby/{wes.pid}/admit"))

    threads = [threading.Thread(target=admit, args=(people[n],)) for n in ("hana", "cato")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = sorted((r.status, r.json.get("error", {}).get("code")) for r in replies)
    assert outcomes == [(200, None), (409, "not_waiting")]
    _marker(people, sockets)
    for ws in sockets.values():
        assert sum(1 for e in ws.events if joined(wes.pid)(e)) == 1
    meeting = people["hana"].rest.call("GET", f"/meetings/{wes.mid}").json["meeting"]
    assert meeting["participantCount"] == 4


def test_the_lobby_hears_when_the_host_leaves_and_returns(stack):
    rest = Rest(stack.api)
    created = rest.create("Host away", lobby=True)
    mid = created["meeting"]["id"]
    wes = rest.wait(mid, "Wes")  # nobody is here yet
    with wes.connect() as wes_ws:
        wes_ws.wait_for(_status(False))
        hana = rest.join(mid, "Hana", hostKey=created["hostKey"])
        wes_ws.wait_for(_status(True))
        hana.leave()
        wes_ws.wait_for(_status(False))
        back = rest.join(mid, "Hana", hostKey=created["hostKey"])
        wes_ws.wait_for(_status(True))
        assert _call(back, "POST", f"/lobby/{wes.pid}/admit").status == 200
        admitted = wes_ws.wait_for(event("admitted"))
        assert [p["name"] for p in admitted["participants"]] == ["Hana"]
        assert [e["event"] for e in wes_ws.events] == ["lobby-status"] * 4 + ["admitted"]


def test_a_removed_participant_joining_again_lands_in_the_lobby(stack, room):
    people, sockets = room
    gus = people["gus"]
    assert _call(people["hana"], "DELETE", f"/participants/{gus.pid}").status == 204
    again = gus.rest.wait(gus.mid, "Gus")
    assert again.pid != gus.pid
    assert _code(_call(again, "GET", "/participants")) == (403, "participant_waiting")
    assert _code(_call(gus, "GET", "/participants")) == (403, "participant_gone")
    assert [p["id"] for p in _call(people["cato"], "GET", "/lobby").json["waiting"]] == [
        again.pid]


# --- scheduled start ----------------------------------------------------------------------

def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_joining_before_at_and_after_a_scheduled_start(stack):
    rest = Rest(stack.api)
    start = datetime.now(UTC) + timedelta(seconds=4)
    created = rest.create("Soon", startsAt=_iso(start))
    mid = created["meeting"]["id"]
    assert (created["meeting"]["startsAt"], created["meeting"]["started"]) == (_iso(start),
                                                                              False)
    partition = Store(stack).partition
    before = partition(mid)
    reply = rest.call("POST", f"/meetings/{mid}/join", {"name": "Early"})
    assert datetime.now(UTC) < start, "too slow to try before the start"
    assert _code(reply) == (409, "meeting_not_started")
    assert reply.json["error"]["startsAt"] == _iso(start)
    assert partition(mid) == before
    got = rest.call("GET", f"/meetings/{mid}")  # the page's countdown reads this
    assert (got.status, got.json["meeting"]["started"]) == (200, False)
    time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 0.05)
    guest = rest.join(mid, "On time")
    assert rest.call("GET", f"/meetings/{mid}").json["meeting"]["started"] is True
    assert _call(guest, "GET", "/participants").status == 200
    rest.join(mid, "Late")


def test_the_host_key_starts_the_meeting_early_for_everyone(stack):
    rest = Rest(stack.api)
    created = rest.create("Later", startsAt=_iso(datetime.now(UTC) + timedelta(hours=1)))
    mid = created["meeting"]["id"]
    assert _code(rest.call("POST", f"/meetings/{mid}/join", {"name": "Gus"})) == (
        409, "meeting_not_started")
    hana = rest.join(mid, "Hana", hostKey=created["hostKey"])
    assert rest.call("GET", f"/meetings/{mid}").json["meeting"]["started"] is True
    with hana.connect() as hana_ws:
        gus = rest.join(mid, "Gus")
        hana_ws.wait_for(joined(gus.pid))


@pytest.mark.parametrize("starts_at", [
    "2020-01-01T00:00:00Z", "in five minutes", "2030-01-01T09:00:00", "2030-02-30T09:00:00Z",
    "far", None, 1700000000])
def test_a_past_or_invalid_start_is_refused_and_creates_nothing(stack, starts_at):
    rest = Rest(stack.api)
    store = Store(stack)
    meetings = store.count("Meeting")
    reply = rest.call("POST", "/meetings", {"name": "Bad", "startsAt": starts_at})
    assert _code(reply) == (400, "invalid_request")
    if isinstance(starts_at, str):
        assert reply.json["error"]["message"].startswith("startsAt must be a future time")
    far = _iso(datetime.now(UTC) + timedelta(days=400))
    assert _code(rest.call("POST", "/meetings", {"name": "Bad", "startsAt": far})) == (
        400, "invalid_request")
    assert store.count("Meeting") == meetings
