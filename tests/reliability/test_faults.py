"""Faults with nothing lost: a WebSocket cut mid-burst (its tickets come back by replay),
and DynamoDB failing under the local stack's stream poller (it resumes where it stopped).

The DynamoDB faults are real network faults: a stack runs against a DynamoDB server in a
process of its own (devserver.embedded_dynamodb, moto) reached through a small HTTP proxy
in this test, which fails requests on demand: only the Streams API (500
InternalServerError; writes still succeed), or every request (the connection is dropped
without an answer, as if the server were gone). The figures go to
test-artifacts/reliability-faults.json for docs/RELIABILITY.md.

The other two faults of the issue are unit tests: a stream handler raising on one record
(tests/unit/test_push.py::test_bad_record_is_logged_and_skipped_without_losing_the_rest)
and autoclear racing joins (tests/unit/test_autoclear.py::
test_purge_racing_joins_and_tickets_never_shows_a_half_deleted_meeting_as_open).
"""

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.stack import ROOT, free_port, running_stack
from tests.api.stack_client import (
    TIMEOUT,
    Rest,
    contiguous_end,
    event,
    fetch,
    ticket,
    updated,
)

ARTIFACT = ROOT / "test-artifacts" / "reliability-faults.json"


def _record(name: str, figures: dict) -> None:
    ARTIFACT.parent.mkdir(exist_ok=True)
    data = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    data[name] = figures
    ARTIFACT.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\n{name}: {json.dumps(figures)}")


def _replay_all(participant, after: str | None) -> list[dict]:
    """GET ...?after= page by page, as a client does after a reconnect."""
    out = []
    while True:
        page = participant.replay(after)
        if not page:
            return out
        out += page
        after = page[-1]["id"]


# --- a WebSocket cut mid-burst ------------------------------------------------------------

BURST = 30          # tickets Ada sends in one go ...
CUT_AFTER = 8       # ... Bob's socket is cut once he has this many ...
WHILE_AWAY = 10     # ... Ada sends these while Bob has no socket ...
AFTER_RETURN = 10   # ... and these while Bob replays on his new socket


def test_a_socket_cut_mid_burst_loses_no_ticket_and_replay_fills_the_gap(stack):
    rest = Rest(stack.api)
    mid = rest.create("Burst")["meeting"]["id"]
    ada, bob = rest.join(mid, "Ada"), rest.join(mid, "Bob")
    sent: list[str] = []
    failures: list[str] = []

    def burst(n: int) -> None:
        for _ in range(n):
            try:
                sent.append(ada.send_ticket(bob)["id"])
            except AssertionError as err:  # a refused POST would be a bug, not a loss
                failures.append(str(err))

    with ada.connect() as ada_ws:  # Ada hears Bob's connection come and go
        bob_ws = bob.connect()
        ada_ws.wait_for(updated(bob.pid, connected=True))
        sender = threading.Thread(target=burst, args=(BURST,))
        sender.start()
        while len(bob_ws.of("ticket")) < CUT_AFTER:
            bob_ws.wait_for(event("ticket"))
        bob_ws.conn.socket.shutdown(socket.SHUT_RDWR)  # no close frame: the network went away
        bob_ws.conn.socket.close()
        sent_at_cut = len(sent)
        ada_ws.wait_for(updated(bob.pid, connected=False))  # $disconnect ran
        sender.join()
        burst(WHILE_AWAY)
        live_before = [e["ticket"]["id"] for e in bob_ws.of("ticket")]

        with bob.connect() as bob_again:
            ada_ws.wait_for(updated(bob.pid, connected=True))
            returned_at = len(sent)
            sender = threading.Thread(target=burst, args=(AFTER_RETURN,))
            sender.start()
            replayed = [t["id"] for t in _replay_all(bob, contiguous_end(live_before))]
            sender.join()
            assert failures == []
            # Written after the new socket opened: each also arrives live on it (so some
            # come twice, by replay and by push: at least once, deduped by id).
            for tid in sent[returned_at:]:
                if tid not in {e["ticket"]["id"] for e in bob_again.of("ticket")}:
                    bob_again.wait_for(ticket(tid))
            live_after = [e["ticket"]["id"] for e in bob_again.of("ticket")]

    processed = live_before + replayed + live_after  # in the order Bob handled them
    unique = list(dict.fromkeys(processed))
    assert unique == sent  # every ticket exactly once after dedupe, in the order sent
    assert sent == sorted(sent) and len(sent) == BURST + WHILE_AWAY + AFTER_RETURN
    # Each ticket arrives first in order; its second copy (the stream's, after the direct
    # push) may come after the next ticket's direct push, and is dropped by id.
    for live in (live_before, live_after):
        firsts = list(dict.fromkeys(live))
        assert firsts == sorted(firsts)
    assert [t["id"] for t in _replay_all(bob, None)] == sent  # and the server kept them all
    _record("socket cut mid-burst", {
        "tickets_sent": len(sent), "sent_before_the_cut": sent_at_cut,
        "received_live_before_the_cut": len(live_before), "replayed": len(replayed),
        "received_live_after_reconnect": len(live_after),
        "duplicates_dropped": len(processed) - len(unique), "lost": len(set(sent) - set(unique)),
    })


# --- a cancelled transaction -------------------------------------------------------------

def test_a_refused_join_announces_no_one_and_pushes_keep_flowing(stack):
    """A join refused by its transaction (meeting full) writes nothing: no one hears of the
    refused participant, and every later change is still pushed (the embedded DynamoDB
    once swapped its stream on such a rollback, and the stack pushed nothing any more)."""
    rest = Rest(stack.api)
    mid = rest.create("Full", maxParticipants=2)["meeting"]["id"]
    ada = rest.join(mid, "Ada")
    with ada.connect() as ada_ws:
        bob = rest.join(mid, "Bob")  # after Ada's socket opened, so its push always reaches her
        for name in ("Cy", "Dee"):
            refused = rest.call("POST", f"/meetings/{mid}/join", {"name": name})
            assert (refused.status, refused.json["error"]["code"]) == (409, "meeting_full")
        sent = bob.send_ticket(ada)
        ada_ws.wait_for(ticket(sent["id"]))
        bob.update(hand=True)
        ada_ws.wait_for(updated(bob.pid, hand=True))
        assert [e["participant"]["name"] for e in ada_ws.of("participant-joined")] == ["Bob"]
    assert rest.call("GET", f"/meetings/{mid}").json["meeting"]["participantCount"] == 2


# --- DynamoDB failing under the stream poller ----------------------------------------------

class FaultyDynamoDB:
    """An HTTP proxy in front of a DynamoDB endpoint that fails requests on demand."""

    def __init__(self, upstream_port: int):
        self.streams_down = False  # Streams API calls answer 500 InternalServerError
        self.unreachable = False   # every request: the connection drops, no answer
        self.failed: Counter = Counter()
        self.forwarded = 0
        proxy, local = self, threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # every DynamoDB and DynamoDB Streams call is a POST
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "")
                if proxy.unreachable:
                    proxy.failed["dropped"] += 1
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if proxy.streams_down and target.startswith("DynamoDBStreams"):
                    proxy.failed["streams_500"] += 1
                    return self._answer(500, {"x-amzn-ErrorType": "InternalServerError"}, json.dumps(
                        {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                         "message": "injected by the test"}).encode())
                if not hasattr(local, "conn"):
                    local.conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                local.conn.request("POST", self.path, body, dict(self.headers))
                resp = local.conn.getresponse()
                proxy.forwarded += 1
                self._answer(resp.status, dict(resp.getheaders()), resp.read())

            def _answer(self, status, headers, payload):
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding",
                                            "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Type", headers.get("Content-Type", "application/x-amz-json-1.0"))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_DYNAMODB_PROCESS = """
import sys, time
from devserver.embedded_dynamodb import EmbeddedDynamoDB
EmbeddedDynamoDB(port=int(sys.argv[1])).start()
print("ready", flush=True)
time.sleep(3600)
"""


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + TIMEOUT * 3
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"DynamoDB did not listen on {port}")


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    """(stack, proxy): a stack whose DynamoDB is another process, behind FaultyDynamoDB."""
    port = free_port()
    dynamodb = subprocess.Popen([sys.executable, "-c", _DYNAMODB_PROCESS, str(port)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = None
    try:
        _wait_port(port)
        proxy = FaultyDynamoDB(port)
        log_path = Path(tmp_path_factory.mktemp("outage-stack")) / "devserver.log"
        with running_stack(log_path, PARLEY_DYNAMODB_ENDPOINT=proxy.url) as stack:
            yield stack, proxy
    finally:
        if proxy:
            proxy.close()
        dynamodb.terminate()
        dynamodb.wait(10)


def _health(stack) -> tuple[int, dict]:
    status, _, body = fetch(stack.url + "/health")
    return status, json.loads(body)


def _wait_health(stack, status: int) -> dict:
    deadline = time.monotonic() + TIMEOUT * 3
    while True:
        got, body = _health(stack)
        if got == status:
            return body
        assert time.monotonic() < deadline, f"/health stayed {got}: {body}"
        time.sleep(0.2)


def test_the_stream_poller_survives_dynamodb_errors_and_resumes_where_it_stopped(outage):
    stack, proxy = outage
    rest = Rest(stack.api)
    mid = rest.create("Outage")["meeting"]["id"]
    ada, bob = rest.join(mid, "Ada"), rest.join(mid, "Bob")
    with bob.connect() as bob_ws:
        first = ada.send_ticket(bob)
        bob_ws.wait_for(ticket(first["id"]))

        # 1. The Streams API fails; writes still succeed and wait in the stream.
        proxy.streams_down = True
        during = [ada.send_ticket(bob) for _ in range(5)]
        body = _wait_health(stack, 503)  # the poller has failed at least once, and says so
        assert body["streams"][0]["healthy"] is False and body["dataStore"]["reachable"]
        proxy.streams_down = False
        for sent in during:  # delivered live once the poller reads again, in order
            bob_ws.wait_for(ticket(sent["id"]))
        _wait_health(stack, 200)

        # 2. DynamoDB unreachable: requests fail cleanly (no hang, the app's error shape),
        #    the poller keeps retrying, and everything resumes when it is back.
        proxy.unreachable = True
        refused = rest.call("POST", f"/meetings/{mid}/tickets",
                            {"to": bob.pid, "kind": "bye", "data": None}, ada.token)
        assert refused.status == 500 and refused.json["error"]["code"] == "internal_error"
        body = _wait_health(stack, 503)
        assert body["dataStore"]["reachable"] is False
        proxy.unreachable = False
        _wait_health(stack, 200)
        after = [ada.send_ticket(bob) for _ in range(3)]
        for sent in after:
            bob_ws.wait_for(ticket(sent["id"]))

    stored = [first] + during + after
    live = [e["ticket"]["id"] for e in bob_ws.of("ticket")]
    assert list(dict.fromkeys(live)) == [t["id"] for t in stored]  # none lost, in order
    assert [t["id"] for t in _replay_all(bob, None)] == [t["id"] for t in stored]
    log = stack.log_path.read_text(errors="replace")
    assert "cannot read the stream" in log and "reading the stream again" in log
    _record("stream poller under DynamoDB faults", {
        "tickets_written": len(stored), "written_while_the_stream_failed": len(during),
        "delivered_live": len(set(live)), "needed_replay": len(set(t["id"] for t in stored) - set(live)),
        "duplicates": len(live) - len(set(live)),
        "streams_calls_failed_with_500": proxy.failed["streams_500"],
        "requests_dropped_while_unreachable": proxy.failed["dropped"],
        "requests_forwarded": proxy.forwarded,
    })
