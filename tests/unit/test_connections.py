"""WebSocket `$connect` / `$default` / `$disconnect` handlers with API-Gateway-shaped events."""

import json

import pytest

from chalicelib.models import (
    CONNECTION_SK,
    Connection,
    Participant,
    connection_pk,
    meeting_pk,
    participant_sk,
)


def _event(route, cid, token=None, body=None):
    event = {
        "requestContext": {"routeKey": route, "eventType": route.strip("$").upper(),
                           "connectionId": cid, "apiId": "local", "stage": "ws",
                           "domainName": "127.0.0.1"},
        "isBase64Encoded": False,
        "body": body,
    }
    if token is not None:
        event["queryStringParameters"] = {"token": token}
    return event


@pytest.fixture
def parley(app):
    import app as module

    return module


def _participant(mid, pid):
    return Participant.get(meeting_pk(mid), participant_sk(pid), consistent_read=True)


def test_connect_with_valid_token_records_the_connection(client, meeting, parley):
    mid = meeting["meeting"]["id"]
    me = client.join(mid)
    result = parley.ws_connect(_event("$connect", "conn-ok-1", me["token"]), None)
    assert result["statusCode"] == 200
    assert _participant(mid, me["participant"]["id"]).connections == {"conn-ok-1"}
    assert Connection.get(connection_pk("conn-ok-1"), CONNECTION_SK).pid == me["participant"]["id"]


@pytest.mark.parametrize("token,status", [(None, 401), ("", 401), ("not.a.jwt", 401)])
def test_connect_with_bad_token_is_refused(parley, dynamo, token, status):
    result = parley.ws_connect(_event("$connect", "conn-bad", token), None)
    assert result["statusCode"] == status
    assert json.loads(result["body"])["error"]["code"].startswith("token_")


def test_connect_after_leaving_is_refused(client, meeting, parley):
    mid = meeting["meeting"]["id"]
    me = client.join(mid)
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=me["token"])
    result = parley.ws_connect(_event("$connect", "conn-left", me["token"]), None)
    assert result["statusCode"] == 403
    with pytest.raises(Connection.DoesNotExist):
        Connection.get(connection_pk("conn-left"), CONNECTION_SK)


def test_disconnect_marks_participant_disconnected(client, meeting, parley):
    mid = meeting["meeting"]["id"]
    me = client.join(mid)
    pid = me["participant"]["id"]
    parley.ws_connect(_event("$connect", "conn-a", me["token"]), None)
    parley.ws_connect(_event("$connect", "conn-b", me["token"]), None)
    parley.ws_disconnect(_event("$disconnect", "conn-a"), None)
    assert _participant(mid, pid).connections == {"conn-b"}
    parley.ws_disconnect(_event("$disconnect", "conn-b"), None)
    after = _participant(mid, pid)
    assert not after.connected and after.disconnected_at is not None
    assert after.public()["connected"] is False


def test_disconnect_of_unknown_connection_is_harmless(parley, dynamo):
    assert parley.ws_disconnect(_event("$disconnect", "never-seen"), None)["statusCode"] == 200
