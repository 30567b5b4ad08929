"""Host controls over real HTTP and WebSocket: who may call which moderator or host route
(a refusal stores nothing), mute all, camera off and ask to unmute reaching their target
alone, co-hosts made and unmade, host handed over, and host handed on when the last host
leaves, also when two people leave at the same time."""

import threading

import pytest

from tests.fixtures.table import Store

from .stack_client import Rest, event, join_all, message, updated

HOST_ROUTES = ("make co-host", "unmake co-host", "hand host over")


@pytest.fixture
def room(stack):
    """Hana (host), Cato (co-host), Gus and Ola (guests), joined in that order, each with
    an open socket that has heard of everyone and of Cato's role; and Rex, who joined
    and was removed."""
    rest = Rest(stack.api)
    created = rest.create("Moderation", maxParticipants=8)
    mid = created["meeting"]["id"]
    hana = rest.join(mid, "Hana", hostKey=created["hostKey"])
    people, sockets = {"hana": hana}, {"hana": hana.connect()}
    try:
        join_all(rest, mid, ("Cato", "Gus", "Ola"), people, sockets)
        assert _call(hana, "PATCH", f"/participants/{people['cato'].pid}",
                     {"role": "cohost"}).status == 200
        for ws in sockets.values():
            ws.wait_for(updated(people["cato"].pid, role="cohost"))
        rex = rest.join(mid, "Rex")
        assert _call(hana, "DELETE", f"/participants/{rex.pid}").status == 204
        people["rex"] = rex
        yield people, sockets
    finally:
        for ws in sockets.values():
            ws.close()


def _heard(ws, match) -> dict:
    """An event `match` accepts, received already or waited for: the two writes of one
    transaction reach the stream in no set order."""
    return next((e for e in ws.events if match(e)), None) or ws.wait_for(match)


def _call(who, method, path, body=None):
    """A request as `who` to a path under their meeting."""
    return who.rest.call(method, f"/meetings/{who.mid}{path}", body, who.token)


def _routes(people) -> dict:
    """Every moderator and host route, aimed at Ola (a guest) unless it says otherwise:
    (method, path, body)."""
    ola, hana = people["ola"].pid, people["hana"].pid
    return {
        "mute": ("POST", f"/participants/{ola}/mute", None),
        "ask to unmute": ("POST", f"/participants/{ola}/ask-unmute", None),
        "mute all": ("POST", "/mute-all", None),
        "lower a hand": ("PATCH", f"/participants/{ola}", {"hand": False}),
        "camera off": ("PATCH", f"/participants/{ola}", {"video": False}),
        "lock": ("PATCH", "", {"locked": False}),
        "make co-host": ("PATCH", f"/participants/{ola}", {"role": "cohost"}),
        "unmake co-host": ("PATCH", f"/participants/{ola}", {"role": "guest"}),
        "hand host over": ("PATCH", f"/participants/{ola}", {"role": "host"}),
        "remove a guest": ("DELETE", f"/participants/{ola}", None),
        "remove the host": ("DELETE", f"/participants/{hana}", None),
        "end": ("DELETE", "", None),
    }


# What each caller gets: a success status, or the refusal. Successes that would change the
# room for the rest of the matrix (removing, ending, handing over) are left out here and
# have tests of their own below.
MATRIX = {
    #                  guest                   cohost                  host
    "mute": ((403, "not_host"), 202, 202),
    "ask to unmute": ((403, "not_host"), 202, 202),
    "mute all": ((403, "not_host"), 202, 202),
    "lower a hand": ((403, "not_host"), 200, 200),
    "camera off": ((403, "not_host"), 202, 202),
    "lock": ((403, "not_host"), 200, 200),
    "make co-host": ((403, "not_host"), (403, "not_host"), 200),
    "unmake co-host": ((403, "not_host"), (403, "not_host"), 200),
    "hand host over": ((403, "not_host"), (403, "not_host"), None),
    "remove a guest": ((403, "not_host"), None, None),
    "remove the host": ((403, "not_host"), (403, "not_host"), (400, "invalid_request")),
    "end": ((403, "not_host"), None, None),
}


def test_who_may_call_what_and_every_refusal_stores_nothing(stack, room):
    people, sockets = room
    partition = Store(stack).partition
    mid = people["hana"].mid
    callers = {"guest": people["gus"], "cohost": people["cato"], "host": people["hana"],
               "removed": people["rex"]}
    routes = _routes(people)
    assert set(MATRIX) == set(routes)
    wrong = []
    for name, (method, path, body) in routes.items():
        expected = dict(zip(("guest", "cohost", "host"), MATRIX[name], strict=True),
                        removed=(403, "participant_gone"))
        for role, outcome in expected.items():
            if outcome is None:
                continue
            before = partition(mid)
            reply = _call(callers[role], method, path, body)
            if isinstance(outcome, int):
                got = reply.status
            else:
                got = (reply.status, reply.json["error"]["code"])
                if partition(mid) != before:
                    wrong.append(f"{name} as {role}: refused but stored something")
            if got != outcome:
                wrong.append(f"{name} as {role}: {got}, expected {outcome}: {reply.json}")
    assert wrong == [], "\n".join(wrong)
    roster = {p["name"]: p["role"] for p in _call(people["hana"], "GET", "/participants").json[
        "participants"]}
    assert roster == {"Hana": "host", "Cato": "cohost", "Gus": "guest", "Ola": "guest"}


def test_a_cohost_removes_a_guest_but_not_the_host_and_a_host_removes_a_cohost(room):
    people, sockets = room
    hana, cato, ola = people["hana"], people["cato"], people["ola"]
    assert _call(cato, "DELETE", f"/participants/{ola.pid}").status == 204
    sockets["ola"].wait_for(event("removed"))
    for name in ("hana", "cato", "gus"):
        left = sockets[name].wait_for(lambda e: e.get("event") == "participant-left"
                                      and e["participant"]["id"] == ola.pid)
        assert left["reason"] == "removed"
    assert _call(ola, "GET", "/participants").status == 403  # their token is dead
    assert _call(hana, "DELETE", f"/participants/{cato.pid}").status == 204
    sockets["cato"].wait_for(event("removed"))
    assert [p["name"] for p in _call(hana, "GET", "/participants").json["participants"]] == [
        "Hana", "Gus"]


def test_a_cohost_ends_the_meeting_for_everyone(room):
    people, sockets = room
    assert _call(people["cato"], "DELETE", "").status == 204
    for ws in sockets.values():
        ws.wait_for(event("meeting-ended"))
    assert people["hana"].rest.call("GET", f"/meetings/{people['hana'].mid}").status == 410


def _marker(people, sockets) -> None:
    """A chat message everyone waits for: the stream pushes in write order, so whatever
    was written before it has arrived by then."""
    people["hana"].say("marker")
    for ws in sockets.values():
        ws.wait_for(message("marker"))


def test_mute_all_asks_guests_with_audio_on_and_tells_only_them(room):
    people, sockets = room
    people["ola"].update(audio=False)
    for name in ("hana", "cato", "gus"):
        sockets[name].wait_for(updated(people["ola"].pid, audio=False))
    reply = _call(people["cato"], "POST", "/mute-all")
    assert (reply.status, reply.json) == (202, {"muted": 1})
    asked = sockets["gus"].wait_for(event("mute-requested"))
    assert asked == {"event": "mute-requested", "by": people["cato"].pid}
    _marker(people, sockets)
    heard = {name: len(ws.of("mute-requested")) for name, ws in sockets.items()}
    assert heard == {"hana": 0, "cato": 0, "gus": 1, "ola": 0}
    people["gus"].update(audio=False)  # the page honours it
    reply = _call(people["hana"], "POST", "/mute-all")
    assert (reply.status, reply.json) == (202, {"muted": 0})


def test_camera_off_and_ask_to_unmute_reach_the_target_and_nobody_else(room):
    people, sockets = room
    cato, gus = people["cato"], people["gus"]
    reply = _call(cato, "PATCH", f"/participants/{gus.pid}", {"video": False})
    assert reply.status == 202 and reply.json["participant"]["id"] == gus.pid
    assert sockets["gus"].wait_for(event("camera-off-requested")) == {
        "event": "camera-off-requested", "by": cato.pid}
    reply = _call(cato, "POST", f"/participants/{gus.pid}/ask-unmute")
    assert reply.status == 202
    assert sockets["gus"].wait_for(event("unmute-requested")) == {
        "event": "unmute-requested", "by": cato.pid}
    _marker(people, sockets)
    for name, ws in sockets.items():
        asked = ws.of("camera-off-requested") + ws.of("unmute-requested")
        assert len(asked) == (2 if name == "gus" else 0), name
    gus.update(video=False)  # the page turns the camera off and says so as usual
    for name in ("hana", "cato", "ola"):
        sockets[name].wait_for(updated(gus.pid, video=False))


def test_a_cohost_made_and_unmade_gains_and_loses_the_powers(room):
    people, sockets = room
    hana, gus, ola = people["hana"], people["gus"], people["ola"]
    assert _call(gus, "POST", f"/participants/{ola.pid}/mute").status == 403
    reply = _call(hana, "PATCH", f"/participants/{gus.pid}", {"role": "cohost"})
    assert (reply.status, reply.json["participant"]["role"]) == (200, "cohost")
    for ws in sockets.values():  # Gus's own page too: it learns its powers
        ws.wait_for(updated(gus.pid, role="cohost"))
    assert _call(gus, "POST", f"/participants/{ola.pid}/mute").status == 202
    assert _call(gus, "PATCH", f"/participants/{ola.pid}", {"role": "cohost"}).status == 403
    reply = _call(hana, "PATCH", f"/participants/{gus.pid}", {"role": "guest"})
    assert (reply.status, reply.json["participant"]["role"]) == (200, "guest")
    for ws in sockets.values():
        ws.wait_for(updated(gus.pid, role="guest"))
    reply = _call(gus, "POST", f"/participants/{ola.pid}/mute")
    assert (reply.status, reply.json["error"]["code"]) == (403, "not_host")
    _marker(people, sockets)
    assert all(ws.of("host-changed") == [] for ws in sockets.values())


def test_handing_host_over_swaps_both_roles_and_everyone_hears_it(stack, room):
    people, sockets = room
    hana, gus, ola = people["hana"], people["gus"], people["ola"]
    reply = _call(hana, "PATCH", f"/participants/{gus.pid}", {"role": "host"})
    assert (reply.status, reply.json["participant"]["role"]) == (200, "host")
    for ws in sockets.values():
        _heard(ws, updated(gus.pid, role="host"))
        _heard(ws, updated(hana.pid, role="cohost"))
        assert _heard(ws, event("host-changed")) == {"event": "host-changed",
                                                     "host": gus.pid, "reason": "handed"}
    reply = _call(hana, "PATCH", f"/participants/{ola.pid}", {"role": "cohost"})
    assert (reply.status, reply.json["error"]["code"]) == (403, "not_host")
    assert _call(hana, "POST", f"/participants/{ola.pid}/mute").status == 202  # a co-host now
    assert _call(gus, "PATCH", f"/participants/{ola.pid}", {"role": "cohost"}).status == 200
    roles = {p["name"]: p["role"] for p in _call(ola, "GET", "/participants").json[
        "participants"]}
    assert roles == {"Hana": "cohost", "Cato": "cohost", "Gus": "host", "Ola": "cohost"}


def _host_changed(pid, reason):
    return lambda e: e == {"event": "host-changed", "host": pid, "reason": reason}


def test_the_last_host_leaving_hands_host_to_the_longest_present_cohost_then_guest(room):
    people, sockets = room
    hana, cato, gus = people["hana"], people["cato"], people["gus"]
    sockets.pop("hana").close()
    hana.leave()
    for ws in sockets.values():
        _heard(ws, _host_changed(cato.pid, "left"))
        _heard(ws, updated(cato.pid, role="host"))
    sockets.pop("cato").close()
    cato.leave()  # no co-host left: the longest-present guest
    for ws in sockets.values():
        _heard(ws, _host_changed(gus.pid, "left"))
        _heard(ws, updated(gus.pid, role="host"))
    roles = {p["name"]: p["role"] for p in _call(gus, "GET", "/participants").json[
        "participants"]}
    assert roles == {"Gus": "host", "Ola": "guest"}


def test_two_people_leaving_at_the_same_time_leave_exactly_one_host(room):
    """The host and the co-host who would inherit leave at once. The local stack serves
    REST requests one at a time, so here they arrive together and are served in turn;
    the interleavings themselves (each departure acting on what it read before the other
    wrote) are forced in tests/unit/test_moderation.py."""
    people, sockets = room
    hana, cato, gus = people["hana"], people["cato"], people["gus"]
    for name in ("hana", "cato"):
        sockets.pop(name).close()
    barrier = threading.Barrier(2)
    statuses = []

    def leave(who):
        barrier.wait()
        statuses.append(_call(who, "DELETE", "/participants/me").status)

    threads = [threading.Thread(target=leave, args=(who,)) for who in (hana, cato)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [204, 204]
    for ws in sockets.values():
        _heard(ws, _host_changed(gus.pid, "left"))
    roles = {p["name"]: p["role"] for p in _call(gus, "GET", "/participants").json[
        "participants"]}
    assert roles == {"Gus": "host", "Ola": "guest"}
