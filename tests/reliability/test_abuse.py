"""Abuse over real HTTP and WebSocket against the local stack: every malformed, oversized or
hostile input gets a 4xx in the app's error shape and stores nothing, and tokens never
reach the log.

"Stores nothing" is checked three ways: the meeting's whole partition, read straight from
the stack's table, is identical before and after; the number of meetings is unchanged;
and a participant listening on a WebSocket hears nothing between two marker tickets sent
around the bad requests (the stream pushes in write order, so anything written in between
would arrive before the second marker).
"""

import json
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from chalicelib.models import participant_sk
from tests.api.stack_client import (
    TIMEOUT,
    Participant,
    Rest,
    Socket,
    both_copies,
    event,
    joined,
    ticket,
    updated,
)
from tests.fixtures.table import Store

from .conftest import request

MAX_BODY = 64 * 1024
MAX_TICKET_DATA = 16 * 1024
MAX_FRAME = 32 * 1024
TOKENS: set[str] = set()  # every token this module used; none may appear in the stack's log


@dataclass
class Room:
    """A meeting with a host and a guest whose socket is open: the guest is the listener."""

    stack: object
    store: Store
    mid: str
    host: Participant
    guest: Participant
    guest_ws: Socket

    def marker(self) -> str:
        """A ticket to the guest, waited for in both copies (the fast path's and the stream's):
        everything the stream pushed before it has arrived. Returns its id."""
        tid = self.host.send_ticket(self.guest)["id"]
        both_copies(self.guest_ws, tid)
        return tid

    @contextmanager
    def nothing_stored(self):
        self.marker()
        heard = len(self.guest_ws.events)
        partition, meetings = self.store.partition(self.mid), self.store.count("Meeting")
        yield
        assert self.store.partition(self.mid) == partition
        assert self.store.count("Meeting") == meetings
        tid = self.marker()
        between = [e for e in self.guest_ws.events[heard:]
                   if e.get("event") != "ticket" or e["ticket"]["id"] != tid]
        assert between == [], f"pushed while nothing should have changed: {between}"


@pytest.fixture(scope="module")
def room(stack, store):
    rest = Rest(stack.api)
    created = rest.create("Abuse", maxParticipants=8)
    mid = created["meeting"]["id"]
    host = rest.join(mid, "Host", hostKey=created["hostKey"])
    guest = rest.join(mid, "Guest")
    TOKENS.update((host.token, guest.token))
    with guest.connect() as guest_ws:
        yield Room(stack, store, mid, host, guest, guest_ws)


# --- request bodies ---------------------------------------------------------------------

# Each endpoint that takes a body, as (method, path, who calls, body with one JSON value
# slotted in at VALUE). The slot is a field whose type is strict (a string with a pattern,
# an integer, a boolean), so a hostile value there is refused by validation, not by luck.
ENDPOINTS = {
    "create meeting": ("POST", "/meetings", None, '{"name": VALUE}'),
    "schedule a meeting": ("POST", "/meetings", None, '{"name": "ok", "startsAt": VALUE}'),
    "join": ("POST", "/meetings/{mid}/join", None, '{"name": VALUE}'),
    "ticket": ("POST", "/meetings/{mid}/tickets", "host",
               '{"to": "GUEST", "kind": "candidates", "data": [{"candidate": '
               '"candidate:1 1 udp 1 192.0.2.1 9 typ host", "sdpMLineIndex": VALUE}]}'),
    "chat": ("POST", "/meetings/{mid}/messages", "guest", '{"text": VALUE}'),
    "my state": ("PATCH", "/meetings/{mid}/participants/me", "guest", '{"audio": VALUE}'),
    "lock": ("PATCH", "/meetings/{mid}", "host", '{"locked": VALUE}'),
    "lobby on or off": ("PATCH", "/meetings/{mid}", "host", '{"lobby": VALUE}'),
    "reaction": ("POST", "/meetings/{mid}/reactions", "host", '{"emoji": VALUE}'),
    "lower a hand": ("PATCH", "/meetings/{mid}/participants/GUEST", "host", '{"hand": VALUE}'),
    "camera off": ("PATCH", "/meetings/{mid}/participants/GUEST", "host", '{"video": VALUE}'),
    "give a role": ("PATCH", "/meetings/{mid}/participants/GUEST", "host", '{"role": VALUE}'),
}
GOOD_VALUE = {"create meeting": '"ok"', "schedule a meeting": '"2099-01-01T09:00:00Z"',
              "join": '"ok"', "ticket": "0", "chat": '"ok"', "my state": "false",
              "lock": "false", "lobby on or off": "false", "reaction": '"👍"',
              "lower a hand": "false", "camera off": "false", "give a role": '"cohost"'}
TEXT_FIELDS = ("create meeting", "schedule a meeting", "join", "chat")

# (what, JSON value slotted into the endpoint's body, or a whole body as bytes, status, code)
BAD_BODIES = [
    ("a body of 64 KB + 1", '"' + "x" * MAX_BODY + '"', 413, "payload_too_large"),
    ("a body of 2 MB", '"' + "x" * 2 * 2**20 + '"', 413, "payload_too_large"),
    ("100 000 nested arrays", "[" * 100_000 + "]" * 100_000, 413, "payload_too_large"),
    ("30 000 nested arrays (under 64 KB)", "[" * 30_000 + "]" * 30_000, 400, "invalid_request"),
    ("10 000 nested objects", '{"a":' * 10_000 + "1" + "}" * 10_000, 400, "invalid_request"),
    ("990 nested arrays (the parser's own limit)", "[" * 990 + "]" * 990, 400, "invalid_request"),
    ("10^5000 as digits", "1" + "0" * 5000, 400, "invalid_request"),
    ("10^4000 as digits", "1" + "0" * 4000, 400, "invalid_request"),
    ("1e5000 (overflows to infinity)", "1e5000", 400, "invalid_request"),
    ("-1e5000", "-1e5000", 400, "invalid_request"),
    ("NaN", "NaN", 400, "invalid_request"),
    ("Infinity", "Infinity", 400, "invalid_request"),
    ("a lone high surrogate", '"\\ud800"', 400, "invalid_request"),
    ("a lone low surrogate", '"x\\udfff"', 400, "invalid_request"),
    ("a reversed surrogate pair", '"\\udc00\\ud800"', 400, "invalid_request"),
    ("a raw NUL byte in a string", '"a\x00b"', 400, "invalid_request"),
    ("a raw newline in a string", '"a\nb"', 400, "invalid_request"),
    ("a nested object", '{"x": 1}', 400, "invalid_request"),
    ("30 000 two-byte characters (60 KB)", json.dumps("é" * 30_000, ensure_ascii=False), 400,
     "invalid_request"),
    ("truncated JSON", b'{"name": "x"', 400, "invalid_request"),
    ("a trailing comma", b'{"name": "x",}', 400, "invalid_request"),
    ("single quotes", b"{'name': 'x'}", 400, "invalid_request"),
    ("trailing garbage", b'{"name": "x"} {}', 400, "invalid_request"),
    ("a JSON array", b"[]", 400, "invalid_request"),
    ("a JSON string", b'"x"', 400, "invalid_request"),
    ("JSON null", b"null", 400, "invalid_request"),
    ("invalid UTF-8", b'{"name": "\xff\xfe\xc0\xaf"}', 400, "invalid_request"),
    ("UTF-16", '{"name": "ok"}'.encode("utf-16"), 400, "invalid_request"),
    ("a NUL byte body", b"\x00" * 64, 400, "invalid_request"),
]
# Only for fields that hold text: (what, JSON string, status, code).
BAD_TEXT = [
    ("an escaped NUL", '"a\\u0000b"'),
    ("a terminal escape sequence", '"\\u001b[2J\\u001b[31mred"'),
    ("a bell and backspaces", '"a\\u0007\\b\\b"'),
    ("only Unicode spaces", '"\\u2003\\u3000\\u00a0"'),
    ("only ASCII spaces", '"   "'),
    ("an empty string", '""'),
    ("a string of 2001 characters", json.dumps("x" * 2001)),
]
WRONG_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
               "application/xml", "image/png"]


def _body(endpoint: str, value, room: Room) -> bytes:
    if isinstance(value, bytes):
        return value
    template = ENDPOINTS[endpoint][3].replace("GUEST", room.guest.pid)
    return template.replace("VALUE", value, 1).encode()


def _send(room: Room, endpoint: str, body: bytes, content_type: str = "application/json"):
    method, path, who, _ = ENDPOINTS[endpoint]
    token = {"host": room.host.token, "guest": room.guest.token, None: None}[who]
    path = path.format(mid=room.mid).replace("GUEST", room.guest.pid)
    return request(room.stack.api + path, method, body,
                   {"Content-Type": content_type}, token)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_malformed_oversized_and_hostile_bodies_get_a_clear_4xx_and_store_nothing(room, endpoint):
    cases = list(BAD_BODIES)
    if endpoint in TEXT_FIELDS:
        cases += [(what, value, 400, "invalid_request") for what, value in BAD_TEXT]
    wrong = []
    with room.nothing_stored():
        for what, value, status, code in cases:
            reply = _send(room, endpoint, _body(endpoint, value, room))
            if (reply.status, reply.error_code) != (status, code):
                wrong.append(f"{what}: {reply.status} {reply.body[:120]!r}")
        for content_type in WRONG_TYPES:
            reply = _send(room, endpoint, _body(endpoint, GOOD_VALUE[endpoint], room), content_type)
            if (reply.status, reply.error_code) != (415, "unsupported_media_type"):
                wrong.append(f"Content-Type {content_type}: {reply.status} {reply.body[:120]!r}")
    assert wrong == [], f"{len(wrong)} of {len(cases) + len(WRONG_TYPES)} inputs:\n" + "\n".join(wrong)


def test_ticket_data_over_16_kb_is_refused_and_16_kb_exactly_is_delivered(room):
    sdp = "v=0\r\n"
    data = {"type": "offer", "sdp": sdp}
    pad = MAX_TICKET_DATA - len(json.dumps(data, separators=(",", ":")))
    data["sdp"] = sdp + "a" * pad
    assert len(json.dumps(data, separators=(",", ":"))) == MAX_TICKET_DATA
    over = {"type": "offer", "sdp": data["sdp"] + "a"}
    candidates = [{"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host " + "x" * 160,
                   "sdpMid": "0", "sdpMLineIndex": 0}] * 90  # 90 x ~230 B: under 64 KB, over 16 KB
    with room.nothing_stored():
        for kind, payload in (("description", over), ("candidates", candidates)):
            body = {"to": room.guest.pid, "kind": kind, "data": payload}
            assert len(json.dumps(body)) < MAX_BODY
            reply = request(f"{room.stack.api}/meetings/{room.mid}/tickets", "POST", body,
                            token=room.host.token)
            assert (reply.status, reply.error_code) == (413, "payload_too_large")

    stored = room.host.send_ticket(room.guest, "description", data)
    pushed = room.guest_ws.wait_for(ticket(stored["id"]))["ticket"]
    assert pushed["data"] == data


def test_bad_query_strings_and_paths_get_a_4xx_and_never_a_5xx(room):
    api, mid, token = room.stack.api, room.mid, room.guest.token
    cases = [
        (f"/meetings/{mid}/tickets?after=%ED%A0%80", token, 400),       # a lone surrogate
        (f"/meetings/{mid}/tickets?after=%00", token, 400),
        (f"/meetings/{mid}/tickets?after=" + "9" * 33, token, 400),
        (f"/meetings/{mid}/tickets?after=..%2F..%2F", token, 400),
        (f"/meetings/{mid}/tickets?unknown=1", token, 400),
        (f"/meetings/{mid}/messages?after=%F0%9F%98%80", token, 400),
        (f"/meetings/{mid}/messages?before=%F0%9F%98%80", token, 400),
        (f"/meetings/{mid}/messages?before=1&after=2", token, 400),
        ("/meetings/%ED%A0%80", None, 404),
        ("/meetings/" + "M" * 4_000, None, 404),
        ("/meetings/%00", None, 404),
        ("/meetings/..%2F..%2Fhealth", None, 404),
        ("/meetings/%E2%80%AEevil", None, 404),
    ]
    with room.nothing_stored():
        for path, tok, status in cases:
            reply = request(api + path, token=tok)
            assert reply.status == status, (path[:80], reply.status, reply.body[:200])
            assert reply.error_code
        # Over 8 KB the HTTP parser itself refuses the request line (plain text, as API
        # Gateway answers 414 on its own); the app never sees it.
        assert request(api + "/meetings/" + "M" * 10_000).status in (400, 414)


# --- Unicode that is legitimate ----------------------------------------------------------

NAMES = {
    "right-to-left": "مرحبا بالعالم",
    "right-to-left override": "\u202eevil.exe\u202c",
    "zero-width joiner family": "👩\u200d👩\u200d👧\u200d👦 family",
    "combining marks": "Z\u0334\u0321a\u0337l\u0336g\u0335o\u0338",
    "astral plane": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀",
    "CJK and full-width space inside": "会议\u3000室",
    "markup": "<b>bold</b> & 'quotes\"",
}


def test_legitimate_unicode_is_stored_and_pushed_exactly_as_sent(stack):
    rest = Rest(stack.api)
    mid = rest.create("Unicode ✓ مرحبا", maxParticipants=8)["meeting"]["id"]
    host = rest.join(mid, "Host")
    TOKENS.add(host.token)
    with host.connect() as host_ws:
        for what, name in NAMES.items():
            assert len(name) <= 40, what
            guest = rest.join(mid, f"  {name}  ")  # names are trimmed, nothing else changes
            TOKENS.add(guest.token)
            heard = host_ws.wait_for(joined(guest.pid))["participant"]["name"]
            assert heard == name, what
            text = f"{what}: {name}\n\tsecond line"
            reply = request(f"{stack.api}/meetings/{mid}/messages", "POST", {"text": text},
                            token=guest.token)
            assert reply.status == 201, reply.body
            assert host_ws.wait_for(event("message"))["message"]["text"] == text
            guest.leave()
    # A surrogate pair written as two escapes is one valid character, not a lone surrogate.
    reply = request(f"{stack.api}/meetings", "POST", b'{"name": "\\ud83d\\ude00"}')
    assert reply.status == 201
    assert reply.json["meeting"]["name"] == "😀"
    assert rest.call("GET", f"/meetings/{mid}").json["meeting"]["name"] == "Unicode ✓ مرحبا"


# --- WebSocket frames --------------------------------------------------------------------

def test_a_frame_over_32_kb_closes_with_1009_and_the_participant_recovers(room):
    rest = Rest(room.stack.api)
    bob = rest.join(room.mid, "Bob")
    TOKENS.add(bob.token)
    room.guest_ws.wait_for(joined(bob.pid))
    for frame in ("x" * (MAX_FRAME + 1), b"\x00" * (MAX_FRAME + 1), "é" * (MAX_FRAME // 2 + 1)):
        bob_ws = bob.connect()
        room.guest_ws.wait_for(updated(bob.pid, connected=True))
        bob_ws.conn.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            bob_ws.conn.recv(timeout=TIMEOUT)
        assert closed.value.rcvd.code == 1009
        room.guest_ws.wait_for(updated(bob.pid, connected=False))  # $disconnect ran

    [item] = [i for i in room.store.partition(room.mid) if i["sk"]["S"] == participant_sk(bob.pid)]
    assert item["state"]["S"] == "active"
    assert not item.get("connections", {}).get("SS")  # no connection left dangling

    missed = room.host.send_ticket(bob)  # stored while Bob has no socket
    with bob.connect() as bob_ws:
        room.guest_ws.wait_for(updated(bob.pid, connected=True))
        assert [t["id"] for t in bob.replay()] == [missed["id"]]
        live = room.host.send_ticket(bob)
        bob_ws.wait_for(ticket(live["id"]))
        bob_ws.send({"action": "ping"})
        bob_ws.wait_for(event("pong"))
    bob.leave()


def test_hostile_small_frames_get_an_error_event_and_the_socket_stays_open(room):
    frames = ["not json", "{", "[]", "null", '{"action": "ping"' + "]" * 1000, "[" * 10_000,
              '{"action": 1e5000}', '{"action": "\\ud800"}', '{"action": "ping\\u0000"}',
              "1" + "0" * 5000, "\x00", "", json.dumps({"action": "sendmessage", "to": "x"})]
    room.marker()
    heard = len(room.guest_ws.events)
    for frame in frames:
        room.guest_ws.send(frame)
        error = room.guest_ws.wait_for(event("error"))
        assert error["error"]["code"] == "invalid_request", frame[:40]
    room.guest_ws.send({"action": "ping"})
    room.guest_ws.wait_for(event("pong"))
    assert [e["event"] for e in room.guest_ws.events[heard:]] == ["error"] * len(frames) + ["pong"]


# --- tokens and the log ------------------------------------------------------------------

def test_tokens_never_appear_in_the_stack_log(stack, room):
    """Runs last in this module: every token used above, and these hostile ways of
    presenting one, must be absent from the log the stack wrote."""
    rest = Rest(stack.api)
    created = rest.create("Log check", passcode="blue-heron-42")
    mid = created["meeting"]["id"]
    ada = rest.join(mid, "Ada", hostKey=created["hostKey"])
    TOKENS.add(ada.token)
    forged = ada.token[:-4] + ("AAAA" if not ada.token.endswith("AAAA") else "BBBB")
    TOKENS.add(forged)
    base = ada.ws_url
    disconnects = _disconnects(stack)

    urls = [f"{base}?token={ada.token}", f"{base}?%74oken={ada.token}",
            f"{base}?TOKEN={ada.token}&token={ada.token}", f"{base}?x=1&token={ada.token}"]
    for url in urls:
        with Socket(url) as ws:
            ws.send({"action": "ping"})
            ws.wait_for(event("pong"))
    for url in (f"{base}?token={forged}", f"{base}?access_token={ada.token}",
                f"{base}/{ada.token}"):
        try:
            connect(url, proxy=None, open_timeout=TIMEOUT, legacy=True).close()
        except Exception:  # noqa: S110 (refused, as it should be; only the log matters here)
            pass
    api = f"{stack.api}/meetings/{mid}"
    request(f"{api}/tickets?token={ada.token}", token=ada.token)
    request(f"{api}/tickets?after=1&hostKey={created['hostKey']}&passcode=blue-heron-42")
    request(f"{stack.api}/meetings/{ada.token}")
    request(f"{api}/tickets", token=forged)
    request(f"{api}/tickets", headers={"Authorization": f"bearer {ada.token}"})
    request(f"{api}/tickets", headers={"Authorization": ada.token})

    secrets = {t: "a token" for t in TOKENS}
    secrets.update({t.split(".")[2]: "a token signature" for t in TOKENS})
    secrets.update({t.split(".")[1]: "a token's claims" for t in TOKENS})
    secrets[created["hostKey"]] = "a host key"
    secrets["blue-heron-42"] = "a passcode"
    log = _log_after_disconnects(stack, disconnects + len(urls))
    leaked = sorted({what for secret, what in secrets.items() if secret in log})
    assert leaked == [], f"found in {stack.log_path}: {leaked}"
    assert log.count("token=***") >= len(urls)


def _disconnects(stack) -> int:
    return stack.log_path.read_text(errors="replace").count(" DISCONNECT ")


def _log_after_disconnects(stack, count: int) -> str:
    """The log once it holds `count` DISCONNECT lines (the sockets above have all closed)."""
    deadline = time.monotonic() + TIMEOUT
    while _disconnects(stack) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return stack.log_path.read_text(errors="replace")


def test_a_dropped_tcp_connection_mid_request_leaves_the_stack_serving(stack, room):
    """Half a request, then the client vanishes: the next requests are served normally."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=TIMEOUT) as raw:
        raw.sendall(b"POST /api/meetings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100000\r\n\r\n{\"name\": \"")
    with socket.create_connection(("127.0.0.1", stack.port), timeout=TIMEOUT) as raw:
        raw.sendall(b"GET /ws?token=x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n")
    room.marker()
