"""The local WebSocket API keeps API Gateway's rules: `$connect` can refuse, `$disconnect`
always runs, big frames are refused, and a gone connection is cleaned up by the app."""

import json
import socket

import boto3
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from chalicelib.models import CONNECTION_SK, connection_id_of, meeting_pk, participant_sk

from .stack_client import TIMEOUT, Rest, Socket, event, fetch, joined, ticket, updated


@pytest.fixture
def pair(stack):
    """Ada (connected, hears about Bob) and Bob (joined, not yet connected)."""
    rest = Rest(stack.api)
    mid = rest.create("Sockets")["meeting"]["id"]
    ada = rest.join(mid, "Ada")
    with ada.connect() as ada_ws:
        bob = rest.join(mid, "Bob")
        ada_ws.wait_for(joined(bob.pid))
        yield ada, ada_ws, bob


def _refusal(url: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        connect(url, proxy=None, open_timeout=TIMEOUT, legacy=True)
    return refused.value.response.status_code


def test_ping_gets_pong(pair):
    _, ada_ws, _ = pair
    ada_ws.send({"action": "ping"})
    assert ada_ws.wait_for(event("pong")) == {"event": "pong"}


def test_closing_the_socket_marks_the_participant_disconnected(pair):
    _, ada_ws, bob = pair
    bob_ws = bob.connect()
    ada_ws.wait_for(updated(bob.pid, connected=True))
    bob_ws.close()
    assert ada_ws.wait_for(updated(bob.pid, connected=False))["participant"]["state"] == "active"


def test_a_dropped_connection_still_runs_disconnect(pair):
    _, ada_ws, bob = pair
    bob_ws = bob.connect()
    ada_ws.wait_for(updated(bob.pid, connected=True))
    bob_ws.conn.socket.shutdown(socket.SHUT_RDWR)  # no close frame: the network just went away
    bob_ws.conn.socket.close()
    ada_ws.wait_for(updated(bob.pid, connected=False))


def test_a_bad_token_is_refused_at_the_upgrade(stack):
    assert _refusal(f"{stack.ws}?token=not-a-token") == 401
    assert _refusal(stack.ws) == 401


def test_the_token_of_someone_who_left_is_refused_at_the_upgrade(pair):
    _, _, bob = pair
    bob.leave()
    assert _refusal(f"{bob.ws_url}?token={bob.token}") == 403


def test_a_frame_over_32_kb_closes_the_socket_with_1009(pair):
    _, ada_ws, bob = pair
    bob_ws = bob.connect()
    ada_ws.wait_for(updated(bob.pid, connected=True))
    bob_ws.send(json.dumps({"action": "ping", "pad": "x" * (32 * 1024)}))
    with pytest.raises(ConnectionClosed) as closed:
        bob_ws.conn.recv(timeout=TIMEOUT)
    assert closed.value.rcvd.code == 1009
    ada_ws.wait_for(updated(bob.pid, connected=False))  # and $disconnect ran


def test_a_frame_of_exactly_32_kb_is_accepted(pair):
    _, ada_ws, _ = pair
    frame = json.dumps({"action": "noise", "pad": ""})
    frame = frame.replace('""', '"' + "x" * (32 * 1024 - len(frame)) + '"')
    assert len(frame.encode()) == 32 * 1024
    ada_ws.send(frame)
    assert ada_ws.wait_for(event("error"))["error"]["code"] == "invalid_request"
    ada_ws.send({"action": "ping"})
    ada_ws.wait_for(event("pong"))


def test_a_gone_connection_is_forgotten_without_breaking_delivery_to_others(stack, pair):
    ada, ada_ws, bob = pair
    cy = Rest(stack.api).join(ada.mid, "Cy")
    ada_ws.wait_for(joined(cy.pid))
    with cy.connect() as cy_ws:
        ada_ws.wait_for(updated(cy.pid, connected=True))
        # Bob's item lists a connection API Gateway no longer has (its $disconnect never
        # came): written straight into the stack's table, as only a crash could leave it.
        _add_connection(stack, ada.mid, bob.pid, "Z29uZS1jb25uZWN0aW9u")
        cy_ws.wait_for(updated(bob.pid, connected=True))

        ada.update(hand=True)  # pushed to Bob's gone connection (410) and to Cy

        cy_ws.wait_for(updated(ada.pid, hand=True))
        cy_ws.wait_for(updated(bob.pid, connected=False))  # the app forgot the connection
        ada_ws.wait_for(updated(bob.pid, connected=False))
        with bob.connect() as bob_ws:
            ada_ws.wait_for(updated(bob.pid, connected=True))
            bob_ws.wait_for(ticket(ada.send_ticket(bob)["id"]))


def _add_connection(stack, mid: str, pid: str, connection_id: str) -> None:
    store = json.loads(fetch(stack.url + "/health")[2])["dataStore"]
    dynamodb = boto3.client("dynamodb", endpoint_url=store["endpoint"], region_name="us-east-1",
                            aws_access_key_id="local", aws_secret_access_key="local")
    dynamodb.update_item(TableName=store["table"],
                         Key={"pk": {"S": meeting_pk(mid)}, "sk": {"S": participant_sk(pid)}},
                         UpdateExpression="ADD connections :c",
                         ExpressionAttributeValues={":c": {"SS": [connection_id]}})


def test_a_new_socket_receives_nothing_meant_for_others(pair):
    ada, ada_ws, bob = pair
    with Socket(f"{bob.ws_url}?token={bob.token}") as bob_ws:
        ada_ws.wait_for(updated(bob.pid, connected=True))
        bob_ws.send({"action": "ping"})
        bob_ws.wait_for(event("pong"))
        assert [e["event"] for e in bob_ws.events] == ["pong"]


def test_the_management_api_answers_like_api_gateway(stack, pair):
    _, ada_ws, bob = pair
    management = boto3.client("apigatewaymanagementapi", endpoint_url=stack.url + "/ws",
                              region_name="us-east-1", aws_access_key_id="local",
                              aws_secret_access_key="local")
    with pytest.raises(management.exceptions.GoneException):
        management.post_to_connection(ConnectionId="bm8tc3VjaC1jb25u", Data=b"{}")

    with bob.connect() as bob_ws:
        ada_ws.wait_for(updated(bob.pid, connected=True))
        cid = _connection_of(stack, bob.pid)
        info = management.get_connection(ConnectionId=cid)
        assert info["Identity"]["SourceIp"] == "127.0.0.1"
        management.post_to_connection(ConnectionId=cid, Data=b'{"event": "hello"}')
        assert bob_ws.wait_for(event("hello")) == {"event": "hello"}

        management.delete_connection(ConnectionId=cid)  # the server hangs up ...
        ada_ws.wait_for(updated(bob.pid, connected=False))  # ... and $disconnect ran
        with pytest.raises(management.exceptions.GoneException):
            management.get_connection(ConnectionId=cid)


def _connection_of(stack, pid: str) -> str:
    store = json.loads(fetch(stack.url + "/health")[2])["dataStore"]
    dynamodb = boto3.client("dynamodb", endpoint_url=store["endpoint"], region_name="us-east-1",
                            aws_access_key_id="local", aws_secret_access_key="local")
    items = dynamodb.scan(TableName=store["table"], FilterExpression="pid = :p AND sk = :s",
                          ExpressionAttributeValues={":p": {"S": pid}, ":s": {"S": CONNECTION_SK}})
    [item] = items["Items"]
    return connection_id_of(item["pk"]["S"])
