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


def _patch_me(client, mid, who, **state):
    resp = client.call("PATCH", f"/meetings/{mid}/participants/me", state, token=who["token"])
    assert resp.status == 200, resp.json
    return resp.json["participant"]


def test_hand_raised_at_is_when_the_hand_went_up_and_null_while_it_is_down(client, meeting):
    mid = meeting["meeting"]["id"]
    ada, bob = client.join(mid, "Ada"), client.join(mid, "Bob")
    assert ada["participant"]["handRaisedAt"] is None
    first = _patch_me(client, mid, ada, hand=True)["handRaisedAt"]
    second = _patch_me(client, mid, bob, hand=True)["handRaisedAt"]
    assert first is not None and first <= second
    assert _patch_me(client, mid, ada, hand=True)["handRaisedAt"] == first  # already up
    assert _patch_me(client, mid, ada, audio=False)["handRaisedAt"] == first
    assert _patch_me(client, mid, ada, hand=False)["handRaisedAt"] is None
    again = _patch_me(client, mid, ada, hand=True)["handRaisedAt"]
    assert again >= second
    roster = client.call("GET", f"/meetings/{mid}/participants", token=bob["token"]).json
    assert {p["name"]: p["handRaisedAt"] for p in roster["participants"]} == {"Ada": again,
                                                                              "Bob": second}
    resp = client.call("PATCH", f"/meetings/{mid}/participants/me",
                       {"handRaisedAt": "2020-01-01T00:00:00Z"}, token=ada["token"])
    assert resp.status == 400  # not settable


def _stored(mid, pid):
    return Participant.get(meeting_pk(mid), participant_sk(pid), consistent_read=True)


def test_only_a_host_lowers_someone_elses_hand_and_a_bad_request_changes_nothing(client):
    created = client.create()
    mid = created["meeting"]["id"]
    host = client.join(mid, "H", hostKey=created["hostKey"])
    guest, other = client.join(mid, "G"), client.join(mid, "O")
    gp = guest["participant"]["id"]
    raised = _patch_me(client, mid, guest, hand=True)
    path = f"/meetings/{mid}/participants/{gp}"

    def unchanged():
        stored = _stored(mid, gp)
        assert (stored.hand, stored.public()["handRaisedAt"]) == (True, raised["handRaisedAt"])
        assert stored.hand_lowered_by is None

    resp = client.call("PATCH", path, {"hand": False}, token=other["token"])
    assert (resp.status, resp.json["error"]["code"]) == (403, "not_host")
    unchanged()
    for body in ({}, {"hand": True}, {"hand": "false"}, {"audio": False},
                 {"hand": False, "audio": False}, None):
        resp = client.call("PATCH", path, body, token=host["token"])
        assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request"), body
        unchanged()
    for pid in ("nobody000000", "not an id!"):
        resp = client.call("PATCH", f"/meetings/{mid}/participants/{pid}", {"hand": False},
                           token=host["token"])
        assert (resp.status, resp.json["error"]["code"]) == (404, "participant_not_found")
    unchanged()

    resp = client.call("PATCH", path, {"hand": False}, token=host["token"])
    assert resp.status == 200
    assert (resp.json["participant"]["hand"], resp.json["participant"]["handRaisedAt"]) == (
        False, None)
    stored = _stored(mid, gp)
    assert (stored.hand, stored.hand_raised_at, stored.hand_lowered_by) == (
        False, None, host["participant"]["id"])
    assert _patch_me(client, mid, guest, hand=True)["handRaisedAt"] is not None
    assert _stored(mid, gp).hand_lowered_by is None  # their own change: nothing to tell them

    client.call("DELETE", f"/meetings/{mid}/participants/me", token=other["token"])
    resp = client.call("PATCH", f"/meetings/{mid}/participants/{other['participant']['id']}",
                       {"hand": False}, token=host["token"])
    assert (resp.status, resp.json["error"]["code"]) == (404, "participant_not_found")


def test_leaving_being_removed_and_timing_out_lower_the_hand(client):
    created = client.create(maxParticipants=8)
    mid = created["meeting"]["id"]
    host = client.join(mid, "H", hostKey=created["hostKey"])
    leaver, removed, ghost = (client.join(mid, n) for n in ("L", "R", "Ghost"))
    for who in (leaver, removed, ghost):
        _patch_me(client, mid, who, hand=True)
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=leaver["token"])
    client.call("DELETE", f"/meetings/{mid}/participants/{removed['participant']['id']}",
                token=host["token"])
    gp = ghost["participant"]["id"]
    Participant(meeting_pk(mid), participant_sk(gp)).update(
        actions=[Participant.disconnected_at.set(time.time() - roster.STALE_SECONDS - 5)])
    client.join(mid, "Newcomer")  # times the ghost out
    for who, state in ((leaver, "left"), (removed, "removed"), (ghost, "timeout")):
        stored = _stored(mid, who["participant"]["id"])
        assert (stored.state, stored.hand, stored.hand_raised_at) == (state, False, None)
