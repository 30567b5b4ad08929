"""A participant's own state, leaving, seat accounting, stale seats, and chat."""

import time

from chalicelib import roster
from chalicelib.models import Participant, meeting_pk, participant_sk


def test_patch_me_updates_only_the_given_fields(client, meeting):
    mid = meeting["meeting"]["id"]
    me = client.join(mid)
    resp = client.call("PATCH", f"/meetings/{mid}/participants/me",
                       {"video": False, "hand": True}, token=me["token"])
    assert resp.status == 200
    p = resp.json["participant"]
    assert (p["audio"], p["video"], p["hand"], p["screen"]) == (True, False, True, False)


def test_patch_me_rejects_bad_bodies(client, meeting):
    mid = meeting["meeting"]["id"]
    me = client.join(mid)
    for body in ({}, {"audio": "yes"}, {"audio": 1}, {"role": "host"}, {"name": "x"}):
        resp = client.call("PATCH", f"/meetings/{mid}/participants/me", body, token=me["token"])
        assert resp.status == 400, body


def test_leaving_frees_the_seat(client):
    mid = client.create(maxParticipants=2)["meeting"]["id"]
    a = client.join(mid, "A")
    client.join(mid, "B")
    assert client.call("POST", f"/meetings/{mid}/join", {"name": "C"}).status == 409
    assert client.call("DELETE", f"/meetings/{mid}/participants/me", token=a["token"]).status == 204
    assert client.join(mid, "C")["meeting"]["participantCount"] == 2


def test_leaving_twice_changes_nothing_the_second_time_and_the_token_is_dead(client, meeting):
    mid = meeting["meeting"]["id"]
    me = client.join(mid)
    client.join(mid, "Bob")
    assert client.call("DELETE", f"/meetings/{mid}/participants/me", token=me["token"]).status == 204
    assert client.call("DELETE", f"/meetings/{mid}/participants/me", token=me["token"]).status == 204
    assert client.call("GET", f"/meetings/{mid}").json["meeting"]["participantCount"] == 1
    resp = client.call("PATCH", f"/meetings/{mid}/participants/me", {"audio": False},
                       token=me["token"])
    assert (resp.status, resp.json["error"]["code"]) == (403, "participant_gone")


def test_leaving_with_a_bad_token_is_still_refused(client, meeting):
    mid = meeting["meeting"]["id"]
    assert client.call("DELETE", f"/meetings/{mid}/participants/me").status == 401
    assert client.call("DELETE", f"/meetings/{mid}/participants/me", token="x.y.z").status == 401


def test_participant_without_connection_for_too_long_loses_the_seat_on_next_join(client):
    mid = client.create(maxParticipants=2)["meeting"]["id"]
    ghost = client.join(mid, "Ghost")
    client.join(mid, "B")
    Participant(meeting_pk(mid), participant_sk(ghost["participant"]["id"])).update(
        actions=[Participant.disconnected_at.set(time.time() - roster.STALE_SECONDS - 5)])
    joined = client.join(mid, "C")
    assert "Ghost" not in [p["name"] for p in joined["participants"]]
    state = Participant.get(meeting_pk(mid), participant_sk(ghost["participant"]["id"])).state
    assert state == "timeout"


def test_host_cannot_remove_themselves_and_guests_cannot_remove(client):
    created = client.create()
    mid = created["meeting"]["id"]
    host = client.join(mid, "H", hostKey=created["hostKey"])
    guest = client.join(mid, "G")
    hp, gp = host["participant"]["id"], guest["participant"]["id"]
    assert client.call("DELETE", f"/meetings/{mid}/participants/{hp}",
                       token=host["token"]).status == 400
    resp = client.call("DELETE", f"/meetings/{mid}/participants/{hp}", token=guest["token"])
    assert (resp.status, resp.json["error"]["code"]) == (403, "not_host")
    resp = client.call("POST", f"/meetings/{mid}/participants/{gp}/mute", token=guest["token"])
    assert resp.status == 403
    resp = client.call("POST", f"/meetings/{mid}/participants/nobody000000/mute",
                       token=host["token"])
    assert resp.status == 404


def test_chat_history_after_cursor(client, meeting):
    mid = meeting["meeting"]["id"]
    me = client.join(mid)
    ids = []
    for text in ("one", "two", "three"):
        resp = client.call("POST", f"/meetings/{mid}/messages", {"text": text}, token=me["token"])
        assert resp.status == 201
        ids.append(resp.json["message"]["id"])
    everything = client.call("GET", f"/meetings/{mid}/messages", token=me["token"]).json
    assert [m["text"] for m in everything["messages"]] == ["one", "two", "three"]
    later = client.call("GET", f"/meetings/{mid}/messages?after={ids[0]}", token=me["token"]).json
    assert [m["text"] for m in later["messages"]] == ["two", "three"]


def test_chat_rejects_empty_and_oversized_text(client, meeting):
    mid = meeting["meeting"]["id"]
    me = client.join(mid)
    for body in ({"text": ""}, {"text": "   "}, {"text": "x" * 2001}, {"text": "a\x00b"}):
        resp = client.call("POST", f"/meetings/{mid}/messages", body, token=me["token"])
        assert resp.status == 400, body
    assert client.call("POST", f"/meetings/{mid}/messages", {"text": "multi\nline"},
                       token=me["token"]).status == 201


def test_roster_lists_active_participants_oldest_first_for_members_only(client, meeting):
    mid = meeting["meeting"]["id"]
    ada, bob, cy = (client.join(mid, n) for n in ("Ada", "Bob", "Cy"))
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=bob["token"])
    resp = client.call("GET", f"/meetings/{mid}/participants", token=cy["token"])
    assert resp.status == 200
    assert [p["name"] for p in resp.json["participants"]] == ["Ada", "Cy"]
    assert client.call("GET", f"/meetings/{mid}/participants").status == 401
    assert client.call("GET", f"/meetings/{mid}/participants", token=bob["token"]).status == 403
