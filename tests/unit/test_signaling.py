"""Tickets: posting, numbering per recipient, limits, and replay after a cursor."""

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
             "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"}


def _pair(client, meeting):
    mid = meeting["meeting"]["id"]
    return mid, client.join(mid, "Alice"), client.join(mid, "Bob")


def _post(client, mid, token, body):
    return client.call("POST", f"/meetings/{mid}/tickets", body, token=token)


def test_ticket_is_accepted_and_numbered_per_recipient(client, meeting):
    mid, alice, bob = _pair(client, meeting)
    to_bob = bob["participant"]["id"]
    first = _post(client, mid, alice["token"], {"to": to_bob, "kind": "description",
                                                "data": OFFER})
    second = _post(client, mid, alice["token"], {"to": to_bob, "kind": "candidates",
                                                 "data": [CANDIDATE]})
    assert first.status == 202 and second.status == 202
    assert first.json["ticket"]["id"] == "000000000001"
    assert second.json["ticket"]["id"] == "000000000002"
    back = _post(client, mid, bob["token"], {"to": alice["participant"]["id"], "kind": "bye"})
    assert back.json["ticket"]["id"] == "000000000001"


def test_replay_returns_only_my_tickets_after_the_cursor_in_order(client, meeting):
    mid, alice, bob = _pair(client, meeting)
    carol = client.join(mid, "Carol")
    for i in range(5):
        _post(client, mid, alice["token"], {"to": bob["participant"]["id"], "kind": "candidates",
                                            "data": [dict(CANDIDATE, sdpMLineIndex=i)]})
    _post(client, mid, alice["token"], {"to": carol["participant"]["id"], "kind": "bye"})
    everything = client.call("GET", f"/meetings/{mid}/tickets", token=bob["token"]).json["tickets"]
    assert [t["id"] for t in everything] == [f"{i:012d}" for i in range(1, 6)]
    assert {t["to"] for t in everything} == {bob["participant"]["id"]}
    after = client.call("GET", f"/meetings/{mid}/tickets?after=000000000003",
                        token=bob["token"]).json["tickets"]
    assert [t["data"][0]["sdpMLineIndex"] for t in after] == [3, 4]


def test_ticket_to_unknown_participant_is_404(client, meeting):
    mid, alice, _ = _pair(client, meeting)
    resp = _post(client, mid, alice["token"], {"to": "nobodyHere01", "kind": "bye"})
    assert (resp.status, resp.json["error"]["code"]) == (404, "participant_not_found")


def test_ticket_to_participant_who_left_is_404(client, meeting):
    mid, alice, bob = _pair(client, meeting)
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=bob["token"])
    resp = _post(client, mid, alice["token"], {"to": bob["participant"]["id"], "kind": "bye"})
    assert resp.status == 404


def test_ticket_to_self_is_refused(client, meeting):
    mid, alice, _ = _pair(client, meeting)
    resp = _post(client, mid, alice["token"], {"to": alice["participant"]["id"], "kind": "bye"})
    assert resp.status == 400


def test_ticket_over_16kb_is_413(client, meeting):
    mid, alice, bob = _pair(client, meeting)
    big = {"type": "offer", "sdp": "a" * (17 * 1024)}
    resp = _post(client, mid, alice["token"], {"to": bob["participant"]["id"],
                                               "kind": "description", "data": big})
    assert (resp.status, resp.json["error"]["code"]) == (413, "payload_too_large")
    assert client.call("GET", f"/meetings/{mid}/tickets", token=bob["token"]).json["tickets"] == []


def test_malformed_tickets_are_400_and_store_nothing(client, meeting):
    mid, alice, bob = _pair(client, meeting)
    to = bob["participant"]["id"]
    bad = [
        {"to": to, "kind": "description"},
        {"to": to, "kind": "description", "data": {"type": "hello", "sdp": ""}},
        {"to": to, "kind": "description", "data": "v=0"},
        {"to": to, "kind": "candidates", "data": []},
        {"to": to, "kind": "candidates", "data": [{"candidate": 5}]},
        {"to": to, "kind": "bye", "data": {"x": 1}},
        {"to": to, "kind": "telepathy"},
        {"to": to, "kind": "view"},
        {"to": to, "kind": "view", "data": None},
        {"to": to, "kind": "view", "data": {}},
        {"to": to, "kind": "view", "data": {"view": "huge"}},
        {"to": to, "kind": "view", "data": {"view": "main", "width": 1920}},
        {"to": to, "kind": "view", "data": ["main"]},
        {"to": 7, "kind": "bye"},
        {"kind": "bye"},
    ]
    for body in bad:
        resp = _post(client, mid, alice["token"], body)
        assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request"), body
    assert client.call("GET", f"/meetings/{mid}/tickets", token=bob["token"]).json["tickets"] == []


def test_a_view_ticket_reaches_its_recipient_with_its_view(client, meeting):
    mid, alice, bob = _pair(client, meeting)
    for view in ("main", "large", "thumbnail", "hidden"):
        resp = _post(client, mid, alice["token"], {"to": bob["participant"]["id"], "kind": "view",
                                                   "data": {"view": view}})
        assert resp.status == 202, resp.json
    tickets = client.call("GET", f"/meetings/{mid}/tickets", token=bob["token"]).json["tickets"]
    assert [(t["kind"], t["data"]["view"], t["from"]) for t in tickets] == [
        ("view", v, alice["participant"]["id"]) for v in ("main", "large", "thumbnail", "hidden")]


def test_replay_rejects_a_malformed_cursor(client, meeting):
    mid, alice, _ = _pair(client, meeting)
    for query in ("after=%00", "after=" + "9" * 40, "other=1"):
        resp = client.call("GET", f"/meetings/{mid}/tickets?{query}", token=alice["token"])
        assert resp.status == 400, query
