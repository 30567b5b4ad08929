"""Create, get and join meetings through the Chalice routes, against moto DynamoDB."""

import json
import threading

from chalicelib import autoclear, meetings, roster
from chalicelib.errors import ApiError
from chalicelib.models import META_SK, Meeting, meeting_pk
from tests.fixtures.dynamo import direct_request


def test_create_returns_meeting_host_key_and_link_without_passcode(client):
    resp = client.call("POST", "/meetings", {"name": "Design review", "passcode": "s3cret-code"})
    assert resp.status == 201
    body = resp.json
    assert body["meeting"]["name"] == "Design review"
    assert body["meeting"]["hasPasscode"] is True
    assert body["meeting"]["maxParticipants"] == 6
    assert len(body["hostKey"]) >= 32
    assert body["link"].endswith(f"#/{body['meeting']['id']}")
    assert "s3cret-code" not in json.dumps(body)


def test_meeting_ids_are_long_and_distinct(client):
    ids = {client.create()["meeting"]["id"] for _ in range(20)}
    assert len(ids) == 20
    assert all(len(mid) >= 16 for mid in ids)  # 96 random bits, base64url


def test_get_meeting_never_shows_the_passcode(client):
    mid = client.create(passcode="hunter22")["meeting"]["id"]
    resp = client.call("GET", f"/meetings/{mid}")
    assert resp.status == 200
    assert resp.json["meeting"]["id"] == mid
    assert "hunter22" not in json.dumps(resp.json)


def test_unknown_meeting_is_404_meeting_not_found(client):
    resp = client.call("GET", "/meetings/doesNotExist123")
    assert resp.status == 404
    assert resp.json["error"]["code"] == "meeting_not_found"


def test_malformed_meeting_id_is_404_not_a_crash(client):
    resp = client.call("GET", "/meetings/%00%22%3Cscript%3E")
    assert resp.status == 404
    assert resp.json["error"]["code"] == "meeting_not_found"


def test_ended_meeting_is_410(client):
    created = client.create()
    mid = created["meeting"]["id"]
    host = client.join(mid, hostKey=created["hostKey"])
    assert client.call("DELETE", f"/meetings/{mid}", token=host["token"]).status == 204
    resp = client.call("GET", f"/meetings/{mid}")
    assert resp.status == 410
    assert resp.json["error"]["code"] == "meeting_ended"
    resp = client.call("POST", f"/meetings/{mid}/join", {"name": "late"})
    assert resp.status == 410


def _assert_invalid(resp, status=400, code="invalid_request"):
    assert resp.status == status, resp.json
    assert resp.json["error"]["code"] == code
    assert resp.json["error"]["message"]


def test_create_rejects_bad_bodies_with_invalid_request(client):
    bad = [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 81},
        {"name": 42},
        {"name": "ok", "unknown": 1},
        {"name": "ok", "maxParticipants": 9},
        {"name": "ok", "maxParticipants": 1},
        {"name": "ok", "maxParticipants": True},
        {"name": "ok", "maxParticipants": 4.5},
        {"name": "ok", "passcode": "123"},
        {"name": "bell\x07"},
    ]
    for body in bad:
        _assert_invalid(client.call("POST", "/meetings", body))


def test_create_rejects_broken_json_and_non_objects(client):
    for raw in ["{", "[]", '"name"', "NaN", '{"name": NaN}', "[" * 5000 + "]" * 5000,
                '{"name": "a", "maxParticipants": ' + "9" * 5000 + "}"]:
        _assert_invalid(client.call("POST", "/meetings", raw=raw))


def test_create_rejects_other_content_types(client):
    resp = client.call("POST", "/meetings", {"name": "x"}, headers={"Content-Type": "text/plain"})
    _assert_invalid(resp, 415, "unsupported_media_type")


def test_create_rejects_oversized_body(client):
    resp = client.call("POST", "/meetings", {"name": "x", "pad": "y" * 70000})
    _assert_invalid(resp, 413, "payload_too_large")


def test_join_returns_token_roster_ice_servers_and_ws_url(client, meeting):
    mid = meeting["meeting"]["id"]
    first = client.join(mid, "Ada")
    second = client.join(mid, "Grace")
    assert first["participant"]["role"] == "guest"
    assert [p["name"] for p in second["participants"]] == ["Ada"]
    assert second["iceServers"] and second["wsUrl"].startswith("ws")
    assert second["meeting"]["participantCount"] == 2
    assert second["token"].count(".") == 2


def test_host_key_makes_the_holder_host_and_a_wrong_one_is_refused(client):
    created = client.create()
    mid = created["meeting"]["id"]
    assert client.join(mid, hostKey=created["hostKey"])["participant"]["role"] == "host"
    resp = client.call("POST", f"/meetings/{mid}/join", {"name": "Eve", "hostKey": "guess"})
    _assert_invalid(resp, 403, "host_key_mismatch")


def test_passcode_required_then_mismatch_then_accepted(client):
    mid = client.create(passcode="open-sesame")["meeting"]["id"]
    _assert_invalid(client.call("POST", f"/meetings/{mid}/join", {"name": "Bo"}), 401,
                    "passcode_required")
    _assert_invalid(client.call("POST", f"/meetings/{mid}/join",
                                {"name": "Bo", "passcode": "wrong"}), 403, "passcode_mismatch")
    assert client.join(mid, "Bo", passcode="open-sesame")["participant"]["name"] == "Bo"


def test_five_wrong_passcodes_lock_joining_with_retry_after(client):
    mid = client.create(passcode="correct-horse")["meeting"]["id"]
    for _ in range(5):
        resp = client.call("POST", f"/meetings/{mid}/join", {"name": "Mallory", "passcode": "x"})
        assert resp.status == 403
    for passcode in ("x", "correct-horse"):
        resp = client.call("POST", f"/meetings/{mid}/join", {"name": "M", "passcode": passcode})
        _assert_invalid(resp, 429, "too_many_attempts")
        assert 0 < int(resp.headers["Retry-After"]) <= 600


def _race(n, body_for, mid):
    """Run n joins at once. chalice.test.Client shares one current_request between
    threads, so the race goes through the join function itself (the HTTP-level race
    runs against the local stack in tests/api)."""
    barrier = threading.Barrier(n)
    statuses = []

    def run(i):
        barrier.wait()
        try:
            meetings.join(mid, direct_request(body_for(i)))
            statuses.append(200)
        except ApiError as err:
            statuses.append(err.status)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_concurrent_passcode_guesses_are_capped_at_five_checks(client):
    mid = client.create(passcode="the-real-one")["meeting"]["id"]
    statuses = _race(12, lambda i: {"name": "M", "passcode": f"g{i}xx"}, mid)
    assert statuses.count(403) == 5
    assert statuses.count(429) == 7


def test_passcode_never_appears_in_any_response(client):
    created = client.create(passcode="pa55-word-xyz")
    mid = created["meeting"]["id"]
    joined = client.join(mid, passcode="pa55-word-xyz")
    responses = [created, joined, client.call("GET", f"/meetings/{mid}").json]
    assert all("pa55-word-xyz" not in json.dumps(r) for r in responses)
    stored = Meeting.get(meeting_pk(mid), META_SK)
    assert "pa55-word-xyz" not in json.dumps(stored.attribute_values, default=str)


def test_full_meeting_refuses_with_409(client):
    mid = client.create(maxParticipants=2)["meeting"]["id"]
    client.join(mid, "A")
    client.join(mid, "B")
    _assert_invalid(client.call("POST", f"/meetings/{mid}/join", {"name": "C"}), 409,
                    "meeting_full")


def test_second_join_for_last_seat_gets_meeting_full(client):
    mid = client.create(maxParticipants=2)["meeting"]["id"]
    client.join(mid, "first")
    statuses = _race(6, lambda i: {"name": f"r{i}"}, mid)
    assert sorted(statuses) == [200, 409, 409, 409, 409, 409]
    assert client.call("GET", f"/meetings/{mid}").json["meeting"]["participantCount"] == 2


def test_a_join_that_races_the_purge_is_404_and_stores_nothing(client, monkeypatch):
    mid = client.create()["meeting"]["id"]
    take_seat = roster.take_seat

    def purged_first(meeting, participant):  # autoclear runs between the read and the seat
        autoclear._delete_partition(Meeting.get(meeting_pk(mid), META_SK))
        take_seat(meeting, participant)

    monkeypatch.setattr(roster, "take_seat", purged_first)
    _assert_invalid(client.call("POST", f"/meetings/{mid}/join", {"name": "late"}), 404,
                    "meeting_not_found")
    assert list(Meeting.query(meeting_pk(mid))) == []


def test_locked_meeting_refuses_guests_but_admits_the_host(client):
    created = client.create()
    mid = created["meeting"]["id"]
    host = client.join(mid, "Host", hostKey=created["hostKey"])
    resp = client.call("PATCH", f"/meetings/{mid}", {"locked": True}, token=host["token"])
    assert resp.status == 200 and resp.json["meeting"]["locked"] is True
    _assert_invalid(client.call("POST", f"/meetings/{mid}/join", {"name": "G"}), 423,
                    "meeting_locked")
    assert client.join(mid, "Host again", hostKey=created["hostKey"])["participant"]["role"] == "host"


def test_guest_cannot_lock_or_end_the_meeting(client, meeting):
    mid = meeting["meeting"]["id"]
    guest = client.join(mid)
    _assert_invalid(client.call("PATCH", f"/meetings/{mid}", {"locked": True},
                                token=guest["token"]), 403, "not_host")
    _assert_invalid(client.call("DELETE", f"/meetings/{mid}", token=guest["token"]), 403,
                    "not_host")


def test_unknown_route_gets_json_error(client):
    resp = client.call("GET", "/nope")
    assert resp.status in (403, 404)


def test_unicode_names_are_kept_exactly(client):
    names = ["Zoë Ångström", "李雷", "👩🏽‍💻 dev", "مرحبا", "e\u0301\u0301", "x" * 80]
    for name in names:
        assert client.create(name)["meeting"]["name"] == name


def test_lone_surrogates_and_controls_are_refused_everywhere(client):
    mid = client.create(passcode="abcd1234")["meeting"]["id"]
    raws = [
        ("POST", "/meetings", '{"name": "bad \\ud800 name"}'),
        ("POST", f"/meetings/{mid}/join", '{"name": "ok", "passcode": "\\udfff"}'),
        ("POST", f"/meetings/{mid}/join", '{"name": "ok", "hostKey": "\\ud83d"}'),
        ("POST", f"/meetings/{mid}/join", '{"name": "tab\\tname"}'),
    ]
    for method, path, raw in raws:
        _assert_invalid(client.call(method, path, raw=raw))
    assert client.call("GET", f"/meetings/{mid}").json["meeting"]["participantCount"] == 0
