"""Host controls in process: who hears a moderator's request or a role change (the
audiences of push.events_for), who inherits host (roster.successor), the checks of the
moderator routes, and host succession under races, forced in a chosen order and with
threads."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import participants, push, roster
from chalicelib.config import load
from chalicelib.errors import ApiError
from chalicelib.models import (
    META_SK,
    Meeting,
    Participant,
    meeting_pk,
    participant_sk,
)
from tests.fixtures.dynamo import direct_request
from tests.unit.test_push import RecordingGateway

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _person(pid, role="guest", minute=0, state="active", **extra):
    return Participant(meeting_pk("m1"), participant_sk(pid), pid=pid, mid="m1", name=pid,
                       role=role, state=state, joined_at=T0 + timedelta(minutes=minute),
                       **extra)


def _changed(old, **changes):
    new = Participant.from_raw_data(old.serialize())
    for name, value in changes.items():
        setattr(new, name, value)
    return new


# --- audiences ----------------------------------------------------------------------------

def test_a_role_given_is_told_to_everyone_the_participant_included():
    old = _person("gus")
    # a moderator more or less: the lobby hears whether one is present
    [(audience, event), lobby] = push.events_for("MODIFY", _changed(old, role="cohost"), old)
    assert audience == push.Audience("m1")
    assert (event["event"], event["participant"]["role"]) == ("participant-updated", "cohost")
    assert lobby == (push.lobby("m1"), push.lobby_status("m1", "gus"))
    [(audience, event), lobby] = push.events_for("MODIFY", _changed(old, role="guest"),
                                                 _changed(old, role="cohost"))
    assert audience == push.Audience("m1") and event["participant"]["role"] == "guest"
    assert lobby == (push.lobby("m1"), push.lobby_status("m1", "gus"))


def test_becoming_host_is_told_to_everyone_with_the_reason():
    old = _person("cato", role="cohost")
    for reason in ("left", "removed", "timeout", "handed"):
        new = _changed(old, role="host", host_reason=reason)
        assert push.events_for("MODIFY", new, old) == [
            (push.Audience("m1"), {"event": "participant-updated", "participant": new.public()}),
            (push.Audience("m1"), {"event": "host-changed", "host": "cato", "reason": reason}),
        ]
    # the one who handed host over: an update for everyone, no host-changed of their own
    host = _person("hana", role="host")
    assert [e["event"] for _, e in push.events_for("MODIFY", _changed(host, role="cohost"),
                                                   host)] == ["participant-updated"]


def test_a_moderators_requests_reach_the_participant_alone():
    old = _person("gus", mute_requests=1, mute_requested_by="x")
    for change, event in ((dict(mute_requests=2, mute_requested_by="cato"), "mute-requested"),
                          (dict(camera_off_requests=1, camera_off_requested_by="cato"),
                           "camera-off-requested"),
                          (dict(unmute_requests=1, unmute_requested_by="cato"),
                           "unmute-requested")):
        assert push.events_for("MODIFY", _changed(old, **change), old) == [
            (push.just("m1", "gus"), {"event": event, "by": "cato"})], event
    gone = _changed(old, state="left")
    assert push.events_for("MODIFY", _changed(gone, unmute_requests=1), gone) == []


def test_ones_own_change_is_still_news_to_the_others_only():
    old = _person("gus", video=True)
    [(audience, _)] = push.events_for("MODIFY", _changed(old, video=False), old)
    assert audience == push.Audience("m1", exclude="gus")


# --- who inherits host --------------------------------------------------------------------

def test_the_longest_present_cohost_inherits_host_else_the_longest_present_guest():
    hana = _person("hana", "host", 0)
    gus, bot, cato, cy = (_person("gus", "guest", 1), _person("rec", "bot", 2),
                          _person("cato", "cohost", 4), _person("cy", "cohost", 3))
    assert roster.successor([hana, gus, bot, cato, cy], "hana") is cy
    assert roster.successor([hana, gus, bot, cato, _changed(cy, state="left")], "hana") is cato
    ola = _person("ola", "guest", 5)
    assert roster.successor([hana, ola, bot, gus], "hana") is gus
    assert roster.successor([hana, ola, bot, _changed(gus, state="timeout")], "hana") is ola
    assert roster.successor([hana, bot], "hana") is None  # bots never
    assert roster.successor([hana], "hana") is None
    assert roster.successor([gus, cy], "cy") is gus  # the one leaving is not a candidate


# --- in a meeting -------------------------------------------------------------------------

def _stored(mid, pid):
    return Participant.get(meeting_pk(mid), participant_sk(pid), consistent_read=True)


def _meeting(mid):
    return Meeting.get(meeting_pk(mid), META_SK, consistent_read=True)


def _set_role(mid, pid, role):
    Participant(meeting_pk(mid), participant_sk(pid)).update(actions=[Participant.role.set(role)])
    if role == "bot":  # a bot holds no seat but a bot's place, as if it had joined as one
        Meeting(meeting_pk(mid), META_SK).update(actions=[Meeting.participant_count.add(-1),
                                                          Meeting.bot_count.add(1)])


def _roles(mid):
    """{pid: role} of everyone present."""
    return {p.pid: p.role for p in roster.present(roster.members(mid, consistent=True))}


def _hosts(mid):
    return [pid for pid, role in _roles(mid).items() if role == "host"]


@pytest.fixture
def room(client):
    """Hana (host), Cato (made co-host), Gus and Ola (guests), joined in that order, each
    with one socket."""
    created = client.create(maxParticipants=8)
    mid = created["meeting"]["id"]
    people = {}
    for name in ("hana", "cato", "gus", "ola"):
        extra = {"hostKey": created["hostKey"]} if name == "hana" else {}
        joined = client.join(mid, name, **extra)
        Participant(meeting_pk(mid), participant_sk(joined["participant"]["id"])).update(
            actions=[Participant.connections.add({f"ws-{name}-{mid}"})])
        people[name] = {"pid": joined["participant"]["id"], "token": joined["token"],
                        "key": created["hostKey"]}
    resp = client.call("PATCH", f"/meetings/{mid}/participants/{people['cato']['pid']}",
                       {"role": "cohost"}, token=people["hana"]["token"])
    assert resp.status == 200, resp.json
    return mid, people


def _error(resp):
    return resp.status, resp.json["error"]["code"]


def test_checks_come_in_order_power_body_target_and_a_refusal_stores_nothing(client, room):
    mid, people = room
    hana, cato, gus = people["hana"]["token"], people["cato"]["token"], people["gus"]["token"]
    path = f"/meetings/{mid}/participants/"
    before = {pid: _stored(mid, pid).serialize() for pid in _roles(mid)}
    cases = [
        (gus, "nobody000000", {}, (403, "not_host")),  # power before body and target
        (cato, "nobody000000", {"role": "bogus"}, (403, "not_host")),  # roles: host only
        (cato, "nobody000000", {"role": "guest", "hand": False}, (403, "not_host")),
        (cato, "nobody000000", {"hand": True}, (400, "invalid_request")),
        (hana, "nobody000000", {"role": "bogus"}, (400, "invalid_request")),
        (hana, people["gus"]["pid"], {}, (400, "invalid_request")),
        (hana, people["gus"]["pid"], {"video": True}, (400, "invalid_request")),
        (hana, people["gus"]["pid"], {"audio": False}, (400, "invalid_request")),
        (hana, people["gus"]["pid"], {"role": "bot"}, (400, "invalid_request")),
        (hana, people["gus"]["pid"], {"role": "cohost", "name": "x"}, (400, "invalid_request")),
        (hana, "nobody000000", {"role": "cohost"}, (404, "participant_not_found")),
        (cato, "nobody000000", {"video": False}, (404, "participant_not_found")),
        (hana, people["hana"]["pid"], {"role": "cohost"}, (400, "invalid_request")),  # oneself
    ]
    for token, pid, body, expected in cases:
        assert _error(client.call("PATCH", path + pid, body, token=token)) == expected, body
    _set_role(mid, people["ola"]["pid"], "bot")
    before[people["ola"]["pid"]] = _stored(mid, people["ola"]["pid"]).serialize()
    resp = client.call("PATCH", path + people["ola"]["pid"], {"role": "cohost"}, token=hana)
    assert _error(resp) == (400, "invalid_request")  # a bot stays a bot
    second = client.join(mid, "hank", hostKey=people["hana"]["key"])
    before[second["participant"]["id"]] = _stored(mid, second["participant"]["id"]).serialize()
    for role in ("guest", "cohost", "host"):  # another host: only they can hand it on
        resp = client.call("PATCH", path + second["participant"]["id"], {"role": role},
                           token=hana)
        assert _error(resp) == (400, "invalid_request"), role
    assert {pid: _stored(mid, pid).serialize() for pid in before} == before


def test_a_cohost_may_moderate_but_remove_guests_only(client, room):
    mid, people = room
    cato = people["cato"]["token"]
    base = f"/meetings/{mid}"
    assert client.call("PATCH", base, {"locked": True}, token=cato).status == 200
    assert client.call("POST", f"{base}/participants/{people['hana']['pid']}/mute",
                       token=cato).status == 202  # asking is fine, whoever it is
    assert _error(client.call("DELETE", f"{base}/participants/{people['hana']['pid']}",
                              token=cato)) == (403, "not_host")
    _set_role(mid, people["ola"]["pid"], "bot")
    assert _error(client.call("DELETE", f"{base}/participants/{people['ola']['pid']}",
                              token=cato)) == (403, "not_host")
    assert _error(client.call("DELETE", f"{base}/participants/{people['cato']['pid']}",
                              token=cato)) == (400, "invalid_request")
    assert client.call("DELETE", f"{base}/participants/{people['gus']['pid']}",
                       token=cato).status == 204
    assert _stored(mid, people["gus"]["pid"]).state == "removed"
    assert client.call("DELETE", f"{base}/participants/{people['ola']['pid']}",
                       token=people["hana"]["token"]).status == 204  # a host removes a bot
    assert client.call("DELETE", f"{base}/participants/{people['cato']['pid']}",
                       token=people["hana"]["token"]).status == 204
    assert _hosts(mid) == [people["hana"]["pid"]]


def _deliver(stream, gateway=None):
    gateway = gateway or RecordingGateway()
    push.handle_stream({"Records": stream.records()}, push.Sender(gateway, load()))
    return gateway


def test_mute_all_asks_guests_with_audio_on_and_nobody_else(client, room, stream):
    mid, people = room
    client.call("PATCH", f"/meetings/{mid}/participants/me", {"audio": False},
                token=people["ola"]["token"])
    bot = client.join(mid, "rec")
    _set_role(mid, bot["participant"]["id"], "bot")
    _deliver(stream)
    resp = client.call("POST", f"/meetings/{mid}/mute-all", token=people["cato"]["token"])
    assert (resp.status, resp.json) == (202, {"muted": 1})
    gateway = _deliver(stream)
    assert gateway.frames == [(f"ws-gus-{mid}", {"event": "mute-requested",
                                                  "by": people["cato"]["pid"]})]
    assert _stored(mid, people["gus"]["pid"]).mute_requests == 1
    assert _error(client.call("POST", f"/meetings/{mid}/mute-all",
                              token=people["gus"]["token"])) == (403, "not_host")


def test_camera_off_and_ask_unmute_reach_the_target_alone(client, room, stream):
    mid, people = room
    gus, cato = people["gus"]["pid"], people["cato"]["pid"]
    resp = client.call("PATCH", f"/meetings/{mid}/participants/{gus}", {"video": False},
                       token=people["cato"]["token"])
    assert resp.status == 202 and resp.json["participant"]["id"] == gus
    resp = client.call("POST", f"/meetings/{mid}/participants/{gus}/ask-unmute",
                       token=people["cato"]["token"])
    assert resp.status == 202 and resp.json["participant"]["id"] == gus
    gateway = _deliver(stream)
    assert gateway.frames == [(f"ws-gus-{mid}", {"event": "camera-off-requested", "by": cato}),
                              (f"ws-gus-{mid}", {"event": "unmute-requested", "by": cato})]


def test_handing_host_over_swaps_both_roles_at_once_and_everyone_hears_it(client, room, stream):
    mid, people = room
    hana, gus = people["hana"]["pid"], people["gus"]["pid"]
    resp = client.call("PATCH", f"/meetings/{mid}/participants/{gus}",
                       {"role": "host", "hand": False}, token=people["hana"]["token"])
    assert resp.status == 200, resp.json
    assert resp.json["participant"]["role"] == "host"
    assert _roles(mid) == {hana: "cohost", people["cato"]["pid"]: "cohost", gus: "host",
                           people["ola"]["pid"]: "guest"}
    assert _stored(mid, gus).host_reason == "handed"
    gateway = _deliver(stream)
    for name in ("hana", "cato", "gus", "ola"):
        frames = gateway.to(f"ws-{name}-{mid}")
        updates = {f["participant"]["id"]: f["participant"]["role"]
                   for f in frames if f["event"] == "participant-updated"}
        assert updates == {hana: "cohost", gus: "host"}, name
        assert [f for f in frames if f["event"] == "host-changed"] == [
            {"event": "host-changed", "host": gus, "reason": "handed"}], name
    # the former host is a co-host now: no more role changes
    assert _error(client.call("PATCH", f"/meetings/{mid}/participants/{people['ola']['pid']}",
                              {"role": "cohost"}, token=people["hana"]["token"])) == (
        403, "not_host")


def test_the_last_host_leaving_makes_the_longest_present_cohost_host(client, room, stream):
    mid, people = room
    resp = client.call("DELETE", f"/meetings/{mid}/participants/me",
                       token=people["hana"]["token"])
    assert resp.status == 204
    cato = people["cato"]["pid"]
    assert _hosts(mid) == [cato]
    gateway = _deliver(stream)
    for name in ("cato", "gus", "ola"):
        frames = gateway.to(f"ws-{name}-{mid}")
        assert {"event": "host-changed", "host": cato, "reason": "left"} in frames, name
        assert any(f["event"] == "participant-updated" and f["participant"]["id"] == cato
                   and f["participant"]["role"] == "host" for f in frames), name
    # no co-host left: the longest-present guest
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=people["cato"]["token"])
    assert _hosts(mid) == [people["gus"]["pid"]]
    assert _meeting(mid).participant_count == 2


def test_a_host_timing_out_hands_host_on_with_reason_timeout(client, room, stream, app):
    import time

    mid, people = room
    hana = people["hana"]["pid"]
    Participant(meeting_pk(mid), participant_sk(hana)).update(
        actions=[Participant.connections.remove(), Participant.disconnected_at.set(time.time())])
    roster.note_absent(_stored(mid, hana), time.time())
    stream.records()
    roster.sweep(time.time() + roster.STALE_SECONDS + 1)
    assert _stored(mid, hana).state == "timeout"
    assert _hosts(mid) == [people["cato"]["pid"]]
    assert _stored(mid, people["cato"]["pid"]).host_reason == "timeout"
    frames = _deliver(stream).to(f"ws-ola-{mid}")
    assert {"event": "host-changed", "host": people["cato"]["pid"], "reason": "timeout"} in frames


def test_a_host_timed_out_by_a_join_hands_host_on_and_the_newcomer_sees_it(client, room):
    import time

    mid, people = room
    hana = people["hana"]["pid"]
    Participant(meeting_pk(mid), participant_sk(hana)).update(
        actions=[Participant.connections.remove(),
                 Participant.disconnected_at.set(time.time() - roster.STALE_SECONDS - 5)])
    joined = client.join(mid, "newcomer")
    roles = {p["name"]: p["role"] for p in joined["participants"]}
    assert roles == {"cato": "host", "gus": "guest", "ola": "guest"}
    assert _hosts(mid) == [people["cato"]["pid"]]
    assert _stored(mid, people["cato"]["pid"]).host_reason == "timeout"


def test_the_last_host_removed_hands_host_on_with_reason_removed(client, room, stream):
    mid, people = room  # only a race gets here by the API: a host removed by a host who left
    assert roster.depart(_meeting(mid), _stored(mid, people["hana"]["pid"]), "removed")
    assert _hosts(mid) == [people["cato"]["pid"]]
    frames = _deliver(stream).to(f"ws-gus-{mid}")
    assert {"event": "host-changed", "host": people["cato"]["pid"], "reason": "removed"} in frames


def test_with_only_bots_left_nobody_becomes_host(client, room):
    mid, people = room
    for name in ("cato", "gus", "ola"):
        _set_role(mid, people[name]["pid"], "bot")
    assert roster.depart(_meeting(mid), _stored(mid, people["hana"]["pid"]), "removed")
    assert _hosts(mid) == []
    assert (_meeting(mid).participant_count, _meeting(mid).bot_count) == (0, 3)  # bots: no seat


def test_another_host_present_means_nobody_is_promoted(client, room):
    mid, people = room
    hank = client.join(mid, "hank", hostKey=people["hana"]["key"])
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=people["hana"]["token"])
    assert _hosts(mid) == [hank["participant"]["id"]]


# --- races --------------------------------------------------------------------------------

def _meanwhile(monkeypatch, departing: str, action):
    """Run `action` once, right after `departing`'s departure has read the roster and
    before it writes: what it read is stale when it commits."""
    original, done = roster._standing, []

    def standing(meeting, host, people):
        result = original(meeting, host, people)
        if host.pid == departing and not done:
            done.append(True)
            action()
        return result

    monkeypatch.setattr(roster, "_standing", standing)
    return done


def test_the_heir_leaving_while_the_host_leaves_hands_host_to_the_next(client, room, monkeypatch):
    mid, people = room
    hana, cato = (_stored(mid, people[n]["pid"]) for n in ("hana", "cato"))
    done = _meanwhile(monkeypatch, hana.pid,
                      lambda: roster.depart(_meeting(mid), cato, "left"))
    assert roster.depart(_meeting(mid), hana, "left")
    assert done and _stored(mid, cato.pid).state == "left"
    assert _hosts(mid) == [people["gus"]["pid"]]
    assert _meeting(mid).participant_count == 2


def test_two_hosts_leaving_at_once_leave_exactly_one_host(client, room, monkeypatch):
    mid, people = room
    hank = client.join(mid, "hank", hostKey=people["hana"]["key"])["participant"]["id"]
    hana, hank = _stored(mid, people["hana"]["pid"]), _stored(mid, hank)
    done = _meanwhile(monkeypatch, hana.pid,
                      lambda: roster.depart(_meeting(mid), hank, "left"))  # counts on Hana
    assert roster.depart(_meeting(mid), hana, "left")  # counted on Hank: must try again
    assert done
    assert _hosts(mid) == [people["cato"]["pid"]]


def test_a_departure_read_before_a_promotion_hands_host_on_again(client, room):
    mid, people = room
    stale_cato = _stored(mid, people["cato"]["pid"])  # read as co-host
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=people["hana"]["token"])
    assert _hosts(mid) == [stale_cato.pid]
    assert roster.depart(_meeting(mid), stale_cato, "left")
    assert _hosts(mid) == [people["gus"]["pid"]]


def test_a_hand_over_racing_the_targets_departure_leaves_one_host(client, room):
    mid, people = room
    gus = _stored(mid, people["gus"]["pid"])  # read as a guest
    resp = client.call("PATCH", f"/meetings/{mid}/participants/{gus.pid}", {"role": "host"},
                       token=people["hana"]["token"])
    assert resp.status == 200
    assert roster.depart(_meeting(mid), gus, "left")  # now the host: hands it on
    # to the longest-present co-host: Hana, co-host since she handed host over
    assert _hosts(mid) == [people["hana"]["pid"]]
    assert _stored(mid, people["hana"]["pid"]).host_reason == "left"


def _at_once(*calls):
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        barrier.wait()
        try:
            call()
        except ApiError as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.parametrize("second", ["cato", "hank"])
def test_two_departures_in_threads_leave_exactly_one_host(client, second):
    for _ in range(4):
        created = client.create(maxParticipants=8)
        mid, key = created["meeting"]["id"], created["hostKey"]
        hana = client.join(mid, "hana", hostKey=key)
        other = client.join(mid, second, **({"hostKey": key} if second == "hank" else {}))
        if second == "cato":
            client.call("PATCH", f"/meetings/{mid}/participants/{other['participant']['id']}",
                        {"role": "cohost"}, token=hana["token"])
        gus, ola = client.join(mid, "gus"), client.join(mid, "ola")
        errors = _at_once(*(lambda m=mid, t=who["token"]: participants.leave(
            m, direct_request(token=t)) for who in (hana, other)))
        assert errors == []
        assert _hosts(mid) == [gus["participant"]["id"]]
        assert set(_roles(mid)) == {gus["participant"]["id"], ola["participant"]["id"]}
        assert _meeting(mid).participant_count == 2


# --- rate limit ---------------------------------------------------------------------------

@pytest.fixture
def strict_moderation(rate_limits):
    rate_limits("moderate=4/0.001")


def test_moderators_requests_share_one_bucket_per_moderator(client, room, strict_moderation):
    mid, people = room
    gus = people["gus"]["pid"]
    base = f"/meetings/{mid}"
    calls = [("POST", f"{base}/participants/{gus}/mute", None),
             ("POST", f"{base}/participants/{gus}/ask-unmute", None),
             ("PATCH", f"{base}/participants/{gus}", {"video": False}),
             ("POST", f"{base}/mute-all", None)]
    assert [client.call(m, p, b, token=people["cato"]["token"]).status
            for m, p, b in calls] == [202, 202, 202, 202]
    before = _stored(mid, gus).serialize()
    for method, path, body in calls:
        resp = client.call(method, path, body, token=people["cato"]["token"])
        assert _error(resp) == (429, "rate_limited")
        assert int(resp.headers["Retry-After"]) >= 1
    assert _stored(mid, gus).serialize() == before
    assert client.call("POST", f"{base}/participants/{gus}/mute",
                       token=people["hana"]["token"]).status == 202  # Hana's own bucket
