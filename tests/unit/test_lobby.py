"""The lobby in process: who hears what (a waiting participant is in no roster audience),
the join that waits, the waiting token's one door (its socket and leaving), admission and
denial as conditional transitions, admission races forced in a chosen order and run in
threads, admit-all against a full meeting, and the sweep of lobby sockets gone quiet."""

import threading
import time

import pytest

from chalicelib import lobby, participants, push, roster
from chalicelib.config import load
from chalicelib.errors import ApiError, MeetingFull, NotWaiting
from chalicelib.models import (
    ABSENCE_PK,
    META_SK,
    Absence,
    Item,
    Meeting,
    Participant,
    meeting_pk,
    participant_sk,
)
from tests.fixtures.dynamo import direct_request
from tests.unit.test_connections import _event
from tests.unit.test_moderation import T0, _changed, _person
from tests.unit.test_push import RecordingGateway

# --- audiences (push.events_for) ----------------------------------------------------------

def test_joining_the_lobby_is_told_to_moderators_only():
    new = _person("gus", state="waiting")
    assert push.events_for("INSERT", new, None) == [
        (push.moderators("m1"), {"event": "lobby-joined", "participant": new.public()})]


def test_a_waiting_participants_changes_are_news_to_nobody_but_their_own_socket():
    old = _person("gus", state="waiting")
    opened = _changed(old, connections={"c1"})
    assert push.events_for("MODIFY", opened, old) == [
        (push.just("m1", "gus"), push.lobby_status("m1"))]
    # a second socket tells that one too; a socket closing tells nobody
    assert push.events_for("MODIFY", _changed(opened, connections={"c1", "c2"}), opened) == [
        (push.just("m1", "gus"), push.lobby_status("m1"))]
    assert push.events_for("MODIFY", _changed(opened, connections=None,
                                              disconnected_at=1.0), opened) == []
    assert push.events_for("MODIFY", _changed(old, name="x"), old) == []


def test_admission_tells_moderators_everyone_present_and_the_participant():
    old = _person("gus", state="waiting", connections={"c1"})
    new = _changed(old, state="active")
    view = new.public()
    assert push.events_for("MODIFY", new, old) == [
        (push.moderators("m1"), {"event": "lobby-left", "participant": view,
                                 "reason": "admitted"}),
        (push.just("m1", "gus"), push.admitted("m1", "gus")),
        (push.Audience("m1", exclude="gus"), {"event": "participant-joined",
                                              "participant": view}),
    ]


@pytest.mark.parametrize("state,reason", [("denied", "denied"), ("left", "left"),
                                          ("timeout", "left")])
def test_leaving_the_lobby_is_told_to_moderators_and_a_denial_to_the_participant(state, reason):
    old = _person("gus", state="waiting")
    new = _changed(old, state=state)
    events = push.events_for("MODIFY", new, old)
    assert events[0] == (push.moderators("m1"), {"event": "lobby-left",
                                                 "participant": new.public(),
                                                 "reason": reason})
    assert events[1:] == ([(push.just("m1", "gus"), {"event": "denied"})]
                          if state == "denied" else [])


def test_the_lobby_hears_when_a_moderator_comes_goes_or_is_made():
    host, guest = _person("hana", role="host"), _person("gus")
    status = (push.lobby("m1"), push.lobby_status("m1", "hana"))
    assert status in push.events_for("INSERT", host, None)
    assert status in push.events_for("MODIFY", _changed(host, state="left"), host)
    assert (push.lobby("m1"), push.lobby_status("m1", "gus")) in push.events_for(
        "MODIFY", _changed(guest, role="cohost"), guest)
    # no change in whether this one is a moderator present: nothing for the lobby
    for new, old in ((_changed(guest, audio=False), guest),
                     (_changed(host, role="cohost"), host),
                     (_changed(guest, state="left"), guest),
                     (guest, None)):
        assert all(audience != push.lobby("m1")
                   for audience, _ in push.events_for("MODIFY" if old else "INSERT", new, old))


def test_the_end_of_the_meeting_reaches_the_lobby_too():
    old = Meeting(meeting_pk("m1"), META_SK, mid="m1", name="x", created_at=T0)
    new = Meeting.from_raw_data(old.serialize())
    new.state = "ended"
    [(audience, event)] = push.events_for("MODIFY", new, old)
    assert audience == push.Audience("m1", group=push.ALL)
    assert event["event"] == "meeting-ended"


def test_roster_audiences_never_hold_a_waiting_participant():
    people = [_person("hana", "host"), _person("gus", state="waiting", minute=1),
              _person("ola", minute=2), _person("cy", state="waiting", minute=0)]
    assert [p.pid for p in roster.present(people)] == ["hana", "ola"]
    assert [p.pid for p in roster.waiting(people)] == ["cy", "gus"]  # oldest first
    assert roster.successor(people, "hana").pid == "ola"


# --- in a meeting -------------------------------------------------------------------------

def _stored(mid, pid):
    return Participant.get(meeting_pk(mid), participant_sk(pid), consistent_read=True)


def _meeting(mid):
    return Meeting.get(meeting_pk(mid), META_SK, consistent_read=True)


def _partition(mid):
    return sorted((i.sk, i.serialize()) for i in Item.query(meeting_pk(mid),
                                                            consistent_read=True))


def _connect(mid, pid, cid):
    Participant(meeting_pk(mid), participant_sk(pid)).update(
        actions=[Participant.connections.add({cid})])


def _wait(client, mid, name):
    resp = client.call("POST", f"/meetings/{mid}/join", {"name": name})
    assert resp.status == 202, resp.json
    return resp.json


def _error(resp):
    return resp.status, resp.json["error"]["code"]


@pytest.fixture
def room(client):
    """A meeting with 3 seats: Hana (host) and Cato (made co-host) in it, then the lobby
    switched on and Gus waiting; each with a socket."""
    created = client.create(maxParticipants=3)
    mid = created["meeting"]["id"]
    hana = client.join(mid, "hana", hostKey=created["hostKey"])
    cato = client.join(mid, "cato")
    for path, body in ((f"/participants/{cato['participant']['id']}", {"role": "cohost"}),
                       ("", {"lobby": True})):
        assert client.call("PATCH", f"/meetings/{mid}{path}", body,
                           token=hana["token"]).status == 200
    gus = _wait(client, mid, "gus")
    people = {"hana": hana, "cato": cato, "gus": gus, "key": created["hostKey"]}
    for name in ("hana", "cato", "gus"):
        _connect(mid, people[name]["participant"]["id"], f"ws-{name}-{mid}")
    return mid, people


def _pid(people, name):
    return people[name]["participant"]["id"]


def _deliver(stream, gateway=None):
    gateway = gateway or RecordingGateway()
    push.handle_stream({"Records": stream.records()}, push.Sender(gateway, load()))
    return gateway


def test_a_lobby_join_answers_202_takes_no_seat_and_a_host_key_goes_straight_in(client):
    created = client.create(lobby=True, maxParticipants=2)
    mid = created["meeting"]["id"]
    assert created["meeting"]["lobby"] is True
    waiting = _wait(client, mid, "gus")
    assert set(waiting) == {"waiting", "token", "participant", "meeting", "wsUrl"}
    assert waiting["waiting"] is True
    assert (waiting["participant"]["state"], waiting["participant"]["role"]) == ("waiting",
                                                                                 "guest")
    assert _meeting(mid).participant_count == 0
    host = client.join(mid, "hana", hostKey=created["hostKey"])
    assert host["participant"]["state"] == "active"
    client.join(mid, "hank", hostKey=created["hostKey"])  # now full
    more = _wait(client, mid, "ola")  # a full meeting still lets people wait
    assert _meeting(mid).participant_count == 2
    resp = client.call("GET", f"/meetings/{mid}/lobby", token=host["token"])
    assert resp.status == 200
    assert [p["id"] for p in resp.json["waiting"]] == [waiting["participant"]["id"],
                                                       more["participant"]["id"]]
    client.call("PATCH", f"/meetings/{mid}", {"locked": True}, token=host["token"])
    assert _error(client.call("POST", f"/meetings/{mid}/join", {"name": "x"})) == (
        423, "meeting_locked")


def test_moderators_switch_the_lobby_and_guests_cannot(client):
    created = client.create()
    mid = created["meeting"]["id"]
    assert created["meeting"]["lobby"] is False
    host = client.join(mid, "hana", hostKey=created["hostKey"])
    guest = client.join(mid, "gus")
    resp = client.call("PATCH", f"/meetings/{mid}", {"lobby": True}, token=host["token"])
    assert (resp.status, resp.json["meeting"]["lobby"], resp.json["meeting"]["locked"]) == (
        200, True, False)
    assert _error(client.call("PATCH", f"/meetings/{mid}", {"lobby": False},
                              token=guest["token"])) == (403, "not_host")
    for body in ({}, {"lobby": "yes"}, {"lobby": True, "name": "x"}):
        assert _error(client.call("PATCH", f"/meetings/{mid}", body,
                                  token=host["token"])) == (400, "invalid_request"), body
    resp = client.call("PATCH", f"/meetings/{mid}", {"lobby": False, "locked": True},
                       token=host["token"])
    assert (resp.json["meeting"]["lobby"], resp.json["meeting"]["locked"]) == (False, True)
    assert _meeting(mid).lobby is False
    client.call("PATCH", f"/meetings/{mid}", {"lobby": True, "locked": False},
                token=host["token"])
    assert client.call("POST", f"/meetings/{mid}/join", {"name": "ola"}).status == 202


def _waiting_routes(mid, people):
    gus, hana = _pid(people, "gus"), _pid(people, "hana")
    return [
        ("GET", f"/meetings/{mid}/participants", None),
        ("PATCH", f"/meetings/{mid}/participants/me", {"audio": False}),
        ("PATCH", f"/meetings/{mid}/participants/me", {"bogus": 1}),
        ("POST", f"/meetings/{mid}/tickets", {"to": hana, "kind": "bye"}),
        ("POST", f"/meetings/{mid}/tickets", {"to": gus, "kind": "bye"}),
        ("GET", f"/meetings/{mid}/tickets", None),
        ("POST", f"/meetings/{mid}/messages", {"text": "let me in"}),
        ("POST", f"/meetings/{mid}/messages", {"text": ""}),
        ("GET", f"/meetings/{mid}/messages", None),
        ("POST", f"/meetings/{mid}/reactions", {"emoji": "👍"}),
        ("PATCH", f"/meetings/{mid}", {"locked": True}),
        ("DELETE", f"/meetings/{mid}", None),
        ("POST", f"/meetings/{mid}/participants/{hana}/mute", None),
        ("POST", f"/meetings/{mid}/participants/{hana}/ask-unmute", None),
        ("POST", f"/meetings/{mid}/mute-all", None),
        ("PATCH", f"/meetings/{mid}/participants/{hana}", {"hand": False}),
        ("DELETE", f"/meetings/{mid}/participants/{hana}", None),
        ("GET", f"/meetings/{mid}/lobby", None),
        ("POST", f"/meetings/{mid}/lobby/{gus}/admit", None),
        ("POST", f"/meetings/{mid}/lobby/{gus}/deny", None),
        ("POST", f"/meetings/{mid}/lobby/admit-all", None),
        ("POST", f"/meetings/{mid}/lobby/deny-all", None),
    ]


def test_a_waiting_token_gets_participant_waiting_everywhere_and_changes_nothing(client, room):
    mid, people = room
    token = people["gus"]["token"]
    before = _partition(mid)
    for method, path, body in _waiting_routes(mid, people):
        resp = client.call(method, path, body, token=token)
        assert _error(resp) == (403, "participant_waiting"), (method, path, body)
    assert _partition(mid) == before


def test_a_waiting_token_opens_a_socket_and_leaves_the_lobby(client, room, app, stream):
    import app as parley

    mid, people = room
    gus = _pid(people, "gus")
    ws = parley.ws_connect(_event("$connect", f"ws-gus-2-{mid}", people["gus"]["token"]), None)
    assert ws["statusCode"] == 200
    assert _stored(mid, gus).connections == {f"ws-gus-{mid}", f"ws-gus-2-{mid}"}
    gateway = _deliver(stream)
    assert gateway.to(f"ws-gus-2-{mid}") == [{"event": "lobby-status", "hostPresent": True}]
    resp = client.call("DELETE", f"/meetings/{mid}/participants/me", token=people["gus"]["token"])
    assert resp.status == 204
    assert _stored(mid, gus).state == "left"
    assert _meeting(mid).participant_count == 2
    frames = _deliver(stream)
    for name in ("hana", "cato"):
        [left] = frames.to(f"ws-{name}-{mid}")
        assert (left["event"], left["reason"], left["participant"]["id"]) == (
            "lobby-left", "left", gus)
    # gone now: the same token is refused everywhere, leaving again is 204
    assert _error(client.call("GET", f"/meetings/{mid}/participants",
                              token=people["gus"]["token"])) == (403, "participant_gone")
    assert client.call("DELETE", f"/meetings/{mid}/participants/me",
                       token=people["gus"]["token"]).status == 204
    refused = parley.ws_connect(_event("$connect", f"ws-gus-3-{mid}", people["gus"]["token"]),
                                None)
    assert refused["statusCode"] == 403


def test_a_waiting_socket_hears_nothing_of_the_meeting(client, room, stream):
    mid, people = room
    hana, cato = people["hana"]["token"], people["cato"]["token"]
    _deliver(stream)
    ola = client.join(mid, "ola", hostKey=people["key"])  # a seat taken: participant-joined
    client.call("POST", f"/meetings/{mid}/tickets", {"to": _pid(people, "cato"),
                                                    "kind": "bye"}, token=hana)
    client.call("POST", f"/meetings/{mid}/messages", {"text": "hi all"}, token=hana)
    client.call("POST", f"/meetings/{mid}/reactions", {"emoji": "👍"}, token=cato)
    client.call("PATCH", f"/meetings/{mid}/participants/me", {"hand": True}, token=cato)
    client.call("POST", f"/meetings/{mid}/mute-all", token=hana)
    client.call("PATCH", f"/meetings/{mid}", {"locked": True}, token=hana)
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=ola["token"])
    gateway = _deliver(stream)
    heard = {e["event"] for e in gateway.to(f"ws-hana-{mid}")}
    assert {"participant-joined", "message", "participant-updated", "meeting-updated",
            "participant-left"} <= heard
    assert gateway.to(f"ws-gus-{mid}") == []
    # the end of the meeting is the one thing of the meeting the lobby hears
    client.call("DELETE", f"/meetings/{mid}", token=hana)
    assert [f["event"] for f in _deliver(stream).to(f"ws-gus-{mid}")] == ["meeting-ended"]


def test_an_admission_seats_the_guest_and_tells_them_everything_a_join_answers(client, room,
                                                                             stream):
    mid, people = room
    gus = _pid(people, "gus")
    _deliver(stream)
    resp = client.call("POST", f"/meetings/{mid}/lobby/{gus}/admit", token=people["cato"]["token"])
    assert resp.status == 200, resp.json
    assert resp.json["participant"]["state"] == "active"
    assert _meeting(mid).participant_count == 3
    gateway = _deliver(stream)
    [admitted] = gateway.to(f"ws-gus-{mid}")
    assert set(admitted) == {"event", "participant", "participants", "meeting", "iceServers"}
    assert admitted["event"] == "admitted"
    assert admitted["participant"]["id"] == gus and admitted["participant"]["state"] == "active"
    assert [p["name"] for p in admitted["participants"]] == ["hana", "cato"]
    assert admitted["meeting"]["participantCount"] == 3 and admitted["iceServers"]
    for name in ("hana", "cato"):
        frames = gateway.to(f"ws-{name}-{mid}")
        assert [(f["event"], f.get("reason")) for f in frames] == [
            ("lobby-left", "admitted"), ("participant-joined", None)], name
    # a normal participant now: the same token works
    assert client.call("GET", f"/meetings/{mid}/participants",
                       token=people["gus"]["token"]).status == 200
    assert _error(client.call("POST", f"/meetings/{mid}/lobby/{gus}/admit",
                              token=people["hana"]["token"])) == (409, "not_waiting")


def test_a_denial_turns_the_guest_away_and_their_token_stops_working(client, room, stream):
    mid, people = room
    gus = _pid(people, "gus")
    _deliver(stream)
    resp = client.call("POST", f"/meetings/{mid}/lobby/{gus}/deny", token=people["hana"]["token"])
    assert (resp.status, resp.json["participant"]["state"]) == (200, "denied")
    gateway = _deliver(stream)
    assert gateway.to(f"ws-gus-{mid}") == [{"event": "denied"}]
    assert [(f["event"], f["reason"]) for f in gateway.to(f"ws-cato-{mid}")] == [
        ("lobby-left", "denied")]
    assert _error(client.call("GET", f"/meetings/{mid}/participants",
                              token=people["gus"]["token"])) == (403, "participant_gone")
    for action in ("admit", "deny"):
        assert _error(client.call("POST", f"/meetings/{mid}/lobby/{gus}/{action}",
                                  token=people["hana"]["token"])) == (409, "not_waiting")
    assert _meeting(mid).participant_count == 2


def test_lobby_routes_check_power_then_target_and_a_refusal_stores_nothing(client, room):
    mid, people = room
    created_guest = client.call("POST", f"/meetings/{mid}/lobby/{_pid(people, 'gus')}/admit",
                                token=people["hana"]["token"])
    assert created_guest.status == 200  # Gus is a seated guest now
    gus = people["gus"]["token"]
    ola = _wait(client, mid, "ola")
    before = _partition(mid)
    base = f"/meetings/{mid}/lobby"
    cases = [
        (gus, "GET", base, (403, "not_host")),
        (gus, "POST", f"{base}/{ola['participant']['id']}/admit", (403, "not_host")),
        (gus, "POST", f"{base}/{ola['participant']['id']}/deny", (403, "not_host")),
        (gus, "POST", f"{base}/admit-all", (403, "not_host")),
        (gus, "POST", f"{base}/deny-all", (403, "not_host")),
        (people["hana"]["token"], "POST", f"{base}/nobody000000/admit",
         (404, "participant_not_found")),
        (people["hana"]["token"], "POST", f"{base}/bad%20id/deny", (404, "participant_not_found")),
        (people["hana"]["token"], "POST", f"{base}/{_pid(people, 'cato')}/admit",
         (409, "not_waiting")),
        # the meeting is full (3 of 3): Ola keeps waiting
        (people["hana"]["token"], "POST", f"{base}/{ola['participant']['id']}/admit",
         (409, "meeting_full")),
    ]
    for token, method, path, expected in cases:
        assert _error(client.call(method, path, token=token)) == expected, path
    assert _partition(mid) == before
    resp = client.call("POST", f"{base}/admit-all", token=people["cato"]["token"])
    assert (resp.status, resp.json) == (200, {"admitted": 0, "denied": 0, "full": True})
    assert _partition(mid) == before


def test_admit_all_admits_the_oldest_until_full_and_deny_all_the_rest(client, stream):
    created = client.create(lobby=True, maxParticipants=4)
    mid = created["meeting"]["id"]
    host = client.join(mid, "hana", hostKey=created["hostKey"])
    waiting = [_wait(client, mid, f"g{n}")["participant"]["id"] for n in range(5)]
    resp = client.call("POST", f"/meetings/{mid}/lobby/admit-all", token=host["token"])
    assert (resp.status, resp.json) == (200, {"admitted": 3, "denied": 0, "full": True})
    assert [_stored(mid, pid).state for pid in waiting] == ["active"] * 3 + ["waiting"] * 2
    assert _meeting(mid).participant_count == 4
    resp = client.call("POST", f"/meetings/{mid}/lobby/deny-all", token=host["token"])
    assert (resp.status, resp.json) == (200, {"admitted": 0, "denied": 2, "full": False})
    assert [_stored(mid, pid).state for pid in waiting[3:]] == ["denied"] * 2
    resp = client.call("POST", f"/meetings/{mid}/lobby/admit-all", token=host["token"])
    assert resp.json == {"admitted": 0, "denied": 0, "full": False}


def test_a_removed_participant_joining_again_waits_in_the_lobby(client, room):
    mid, people = room
    gus = _pid(people, "gus")
    client.call("POST", f"/meetings/{mid}/lobby/{gus}/admit", token=people["hana"]["token"])
    assert client.call("DELETE", f"/meetings/{mid}/participants/{gus}",
                       token=people["hana"]["token"]).status == 204
    again = _wait(client, mid, "gus")
    assert again["participant"]["id"] != gus and again["participant"]["state"] == "waiting"
    assert _error(client.call("GET", f"/meetings/{mid}/participants",
                              token=again["token"])) == (403, "participant_waiting")
    assert _stored(mid, gus).state == "removed"


# --- races --------------------------------------------------------------------------------

def test_two_admissions_of_one_guest_read_before_either_wrote_admit_once(client, room):
    mid, people = room
    meeting = _meeting(mid)
    first, second = _stored(mid, _pid(people, "gus")), _stored(mid, _pid(people, "gus"))
    roster.admit(meeting, first)
    with pytest.raises(NotWaiting):
        roster.admit(_meeting(mid), second)  # read as waiting, but no longer is
    assert _meeting(mid).participant_count == 3
    assert _stored(mid, first.pid).state == "active"


def test_an_admission_racing_a_denial_and_a_leave_changes_nothing(client, room):
    mid, people = room
    stale = _stored(mid, _pid(people, "gus"))
    assert roster.leave_lobby(_stored(mid, stale.pid), "denied")
    with pytest.raises(NotWaiting):
        roster.admit(_meeting(mid), stale)
    assert not roster.leave_lobby(stale, "left")  # denied stays denied
    assert _stored(mid, stale.pid).state == "denied"
    assert _meeting(mid).participant_count == 2


def test_an_admission_whose_seat_went_meanwhile_is_meeting_full_and_changes_nothing(
        client, room, monkeypatch):
    mid, people = room
    original, done = lobby._waiting, []

    def waiting_then_a_host_sits_down(m, pid):
        p = original(m, pid)
        if not done:
            done.append(client.join(mid, "hank", hostKey=people["key"]))  # the last seat
        return p

    monkeypatch.setattr(lobby, "_waiting", waiting_then_a_host_sits_down)
    resp = client.call("POST", f"/meetings/{mid}/lobby/{_pid(people, 'gus')}/admit",
                       token=people["hana"]["token"])
    assert _error(resp) == (409, "meeting_full")
    assert done and _stored(mid, _pid(people, "gus")).state == "waiting"
    assert _meeting(mid).participant_count == 3


def _at_once(*calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except ApiError as err:
            results[i] = err

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_moderators_admitting_one_guest_in_threads_admit_once(client):
    for _ in range(4):
        created = client.create(lobby=True, maxParticipants=8)
        mid = created["meeting"]["id"]
        tokens = [client.join(mid, f"h{n}", hostKey=created["hostKey"])["token"]
                  for n in range(3)]
        gus = _wait(client, mid, "gus")["participant"]["id"]
        results = _at_once(*(lambda t=t, m=mid, g=gus: lobby.admit(m, g, direct_request(token=t))
                             for t in tokens * 2))
        admitted = [r for r in results if isinstance(r, dict)]
        refused = [r.code for r in results if isinstance(r, ApiError)]
        assert len(admitted) == 1 and refused == ["not_waiting"] * 5, results
        assert _meeting(mid).participant_count == 4


def test_admissions_of_many_guests_in_threads_never_overfill_the_meeting(client):
    created = client.create(lobby=True, maxParticipants=3)
    mid = created["meeting"]["id"]
    host = client.join(mid, "hana", hostKey=created["hostKey"])["token"]
    cohost = client.join(mid, "cato", hostKey=created["hostKey"])["token"]
    guests = [_wait(client, mid, f"g{n}")["participant"]["id"] for n in range(4)]
    calls = [lambda p=p, t=t: lobby.admit(mid, p, direct_request(token=t))
             for p in guests for t in (host, cohost)]
    calls += [lambda: lobby.admit_all(mid, direct_request(token=host))]
    results = _at_once(*calls)
    assert _meeting(mid).participant_count == 3
    states = [_stored(mid, p).state for p in guests]
    assert sorted(states) == ["active", "waiting", "waiting", "waiting"]
    refusals = {r.code for r in results if isinstance(r, ApiError)}
    assert refusals <= {"not_waiting", "meeting_full"}


def test_a_guest_leaving_the_lobby_as_they_are_admitted_ends_up_once_one_way(client, room):
    mid, people = room
    gus = _pid(people, "gus")
    results = _at_once(
        lambda: lobby.admit(mid, gus, direct_request(token=people["hana"]["token"])),
        lambda: participants.leave(mid, direct_request(token=people["gus"]["token"])))
    state, count = _stored(mid, gus).state, _meeting(mid).participant_count
    # admitted, then left the meeting (seat given back), or left the lobby before it
    assert (state, count) == ("left", 2), results


# --- the sweep ----------------------------------------------------------------------------

def test_a_waiting_participant_without_a_socket_for_long_leaves_the_lobby(client, room,
                                                                         stream):
    import app as parley

    mid, people = room
    gus = _pid(people, "gus")
    parley.ws_connect(_event("$connect", f"ws-gus-x-{mid}", people["gus"]["token"]), None)
    Participant(meeting_pk(mid), participant_sk(gus)).update(
        actions=[Participant.connections.delete({f"ws-gus-{mid}"})])
    parley.ws_disconnect(_event("$disconnect", f"ws-gus-x-{mid}"), None)
    assert [a.pid for a in Absence.query(ABSENCE_PK, consistent_read=True)
            if a.pid == gus] == [gus, gus]  # one from the join, one from the last socket
    _deliver(stream)
    roster.sweep(time.time() + 1)
    assert _stored(mid, gus).state == "waiting"  # not yet
    roster.sweep(time.time() + roster.STALE_SECONDS + 1)
    assert _stored(mid, gus).state == "timeout"
    assert _meeting(mid).participant_count == 2
    [left] = _deliver(stream).to(f"ws-hana-{mid}")
    assert (left["event"], left["reason"]) == ("lobby-left", "left")


# --- rate limit ---------------------------------------------------------------------------

@pytest.fixture
def strict_moderation(rate_limits):
    rate_limits("moderate=3/0.001")


def test_lobby_actions_share_the_moderators_bucket(client, room, strict_moderation):
    mid, people = room
    hana = people["hana"]["token"]
    ola = _wait(client, mid, "ola")["participant"]["id"]
    assert client.call("POST", f"/meetings/{mid}/lobby/admit-all", token=hana).status == 200
    assert client.call("POST", f"/meetings/{mid}/lobby/deny-all", token=hana).status == 200
    assert client.call("POST", f"/meetings/{mid}/mute-all", token=hana).status == 202
    before = _partition(mid)
    for path in (f"lobby/{ola}/admit", f"lobby/{ola}/deny", "lobby/admit-all",
                 "lobby/deny-all"):
        resp = client.call("POST", f"/meetings/{mid}/{path}", token=hana)
        assert _error(resp) == (429, "rate_limited"), path
    assert client.call("GET", f"/meetings/{mid}/lobby", token=hana).status == 200  # a read
    assert _partition(mid) == before


def test_meeting_full_is_what_admit_raises_with_no_seat(client):
    created = client.create(lobby=True, maxParticipants=2)
    mid = created["meeting"]["id"]
    for n in range(2):
        client.join(mid, f"h{n}", hostKey=created["hostKey"])
    gus = _stored(mid, _wait(client, mid, "gus")["participant"]["id"])
    with pytest.raises(MeetingFull):
        roster.admit(_meeting(mid), gus)
    assert _stored(mid, gus.pid).state == "waiting"


def test_the_lobby_is_told_when_no_host_is_present_and_when_one_is_again(client, stream):
    created = client.create(lobby=True)
    mid = created["meeting"]["id"]
    hana = client.join(mid, "hana", hostKey=created["hostKey"])
    _deliver(stream)
    gus = _wait(client, mid, "gus")
    _connect(mid, gus["participant"]["id"], f"ws-gus-{mid}")
    assert _deliver(stream).to(f"ws-gus-{mid}") == [{"event": "lobby-status",
                                                     "hostPresent": True}]
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=hana["token"])
    assert _deliver(stream).to(f"ws-gus-{mid}") == [{"event": "lobby-status",
                                                     "hostPresent": False}]
    hank = client.join(mid, "hank", hostKey=created["hostKey"])
    assert _deliver(stream).to(f"ws-gus-{mid}") == [{"event": "lobby-status",
                                                     "hostPresent": True}]
    # a second host coming and going changes nothing for the lobby
    again = client.join(mid, "hana", hostKey=created["hostKey"])
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=again["token"])
    assert _deliver(stream).to(f"ws-gus-{mid}") == []
    # nobody present without a socket: a lobby socket opening hears that no host is here
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=hank["token"])
    assert _deliver(stream).to(f"ws-gus-{mid}") == [{"event": "lobby-status",
                                                     "hostPresent": False}]
    _connect(mid, gus["participant"]["id"], f"ws-gus-2-{mid}")
    frames = _deliver(stream)
    assert frames.to(f"ws-gus-2-{mid}") == [{"event": "lobby-status", "hostPresent": False}]
