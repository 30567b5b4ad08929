"""Token security: only our HS256 tokens, for this meeting, of a live participant, work."""

import base64
import json
import time

import jwt

SECRET = "test-secret-that-is-long-enough-for-hs256"


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _roster_call(client, mid, token):
    return client.call("GET", f"/meetings/{mid}/tickets", token=token)


def _code(resp):
    return resp.status, resp.json["error"]["code"]


def test_valid_token_is_accepted(client, meeting):
    joined = client.join(meeting["meeting"]["id"])
    assert _roster_call(client, meeting["meeting"]["id"], joined["token"]).status == 200


def test_missing_token_is_401(client, meeting):
    resp = client.call("GET", f"/meetings/{meeting['meeting']['id']}/tickets")
    assert _code(resp) == (401, "token_missing")


def test_tampered_token_is_refused(client, meeting):
    mid = meeting["meeting"]["id"]
    token = client.join(mid)["token"]
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "host"
    forged = ".".join([header, _b64(claims), sig])
    assert _code(_roster_call(client, mid, forged)) == (401, "token_invalid")


def test_alg_none_token_is_refused(client, meeting):
    mid = meeting["meeting"]["id"]
    joined = client.join(mid)
    claims = {"sub": joined["participant"]["id"], "mid": mid, "role": "host",
              "iat": int(time.time()), "exp": int(time.time()) + 60}
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert _code(_roster_call(client, mid, unsigned)) == (401, "token_invalid")


def test_token_signed_with_another_key_is_refused(client, meeting):
    mid = meeting["meeting"]["id"]
    joined = client.join(mid)
    claims = {"sub": joined["participant"]["id"], "mid": mid, "role": "guest",
              "iat": int(time.time()), "exp": int(time.time()) + 60}
    other = jwt.encode(claims, "another-secret-that-is-long-enough!!", algorithm="HS256")
    assert _code(_roster_call(client, mid, other)) == (401, "token_invalid")


def test_expired_token_is_refused(client, meeting):
    mid = meeting["meeting"]["id"]
    joined = client.join(mid)
    claims = {"sub": joined["participant"]["id"], "mid": mid, "role": "guest",
              "iat": int(time.time()) - 100, "exp": int(time.time()) - 10}
    expired = jwt.encode(claims, SECRET, algorithm="HS256")
    assert _code(_roster_call(client, mid, expired)) == (401, "token_expired")


def test_token_without_required_claims_is_refused(client, meeting):
    mid = meeting["meeting"]["id"]
    token = jwt.encode({"sub": "x", "mid": mid}, SECRET, algorithm="HS256")
    assert _code(_roster_call(client, mid, token)) == (401, "token_invalid")


def test_token_of_meeting_a_is_refused_on_meeting_b(client):
    a = client.create("A")["meeting"]["id"]
    b = client.create("B")["meeting"]["id"]
    token = client.join(a)["token"]
    assert _code(_roster_call(client, b, token)) == (403, "wrong_meeting")
    resp = client.call("POST", f"/meetings/{b}/tickets", {"to": "x", "kind": "bye"}, token=token)
    assert _code(resp) == (403, "wrong_meeting")


def test_sender_comes_from_the_token_not_the_body(client, meeting):
    mid = meeting["meeting"]["id"]
    alice, bob, carol = (client.join(mid, n) for n in ("Alice", "Bob", "Carol"))
    forged = {"to": bob["participant"]["id"], "kind": "bye", "from": carol["participant"]["id"]}
    resp = client.call("POST", f"/meetings/{mid}/tickets", forged, token=alice["token"])
    assert _code(resp) == (400, "invalid_request")
    ok = client.call("POST", f"/meetings/{mid}/tickets", {"to": bob["participant"]["id"],
                                                         "kind": "bye"}, token=alice["token"])
    assert ok.json["ticket"]["from"] == alice["participant"]["id"]


def test_removed_participants_token_stops_working(client):
    created = client.create()
    mid = created["meeting"]["id"]
    host = client.join(mid, "Host", hostKey=created["hostKey"])
    guest = client.join(mid, "Guest")
    pid = guest["participant"]["id"]
    assert client.call("DELETE", f"/meetings/{mid}/participants/{pid}",
                       token=host["token"]).status == 204
    assert _code(_roster_call(client, mid, guest["token"])) == (403, "participant_gone")
    resp = client.call("PATCH", f"/meetings/{mid}/participants/me", {"audio": False},
                       token=guest["token"])
    assert _code(resp) == (403, "participant_gone")


def test_left_participants_token_stops_working(client, meeting):
    mid = meeting["meeting"]["id"]
    me = client.join(mid)
    assert client.call("DELETE", f"/meetings/{mid}/participants/me", token=me["token"]).status == 204
    assert _code(_roster_call(client, mid, me["token"])) == (403, "participant_gone")


BAD_BODIES = [b"{not json", b'{"unknown": 1}', b"[]", b'{"to": "x", "kind": "description", "data": "' +
              b"A" * 20_000 + b'"}']
AUTHENTICATED_WITH_BODY = [("POST", "/tickets"), ("POST", "/messages"), ("PATCH", "/participants/me"),
                           ("PATCH", "")]


def test_no_or_a_bad_token_gets_401_whatever_the_body(client, meeting):
    mid = meeting["meeting"]["id"]
    for method, suffix in AUTHENTICATED_WITH_BODY:
        for body in BAD_BODIES:
            for token in (None, "not-a-token"):
                resp = client.call(method, f"/meetings/{mid}{suffix}", token=token, raw=body)
                assert resp.status == 401, (method, suffix, body[:20], resp.json)
