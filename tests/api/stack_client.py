"""Talking to the running local stack the way the browser does: JSON over HTTP, events over
WebSocket. Waits have a generous ceiling (TIMEOUT) so a slow machine fails loudly instead of
hanging; no test asserts how fast anything is."""

import json
import time
from dataclasses import dataclass

from websockets.sync.client import connect

from harness.http import TIMEOUT, fetch


@dataclass
class Reply:
    status: int
    json: object
    headers: dict


class Rest:
    def __init__(self, api: str):
        self.api = api

    def call(self, method: str, path: str, body=None, token: str | None = None) -> Reply:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        status, hdrs, raw = fetch(self.api + path, method, data, headers)
        return Reply(status, json.loads(raw) if raw else None, hdrs)

    def create(self, name: str = "Standup", **extra) -> dict:
        reply = self.call("POST", "/meetings", {"name": name, **extra})
        assert reply.status == 201, reply.json
        return reply.json

    def join(self, mid: str, name: str, **extra) -> "Participant":
        reply = self.call("POST", f"/meetings/{mid}/join", {"name": name, **extra})
        assert reply.status == 200, reply.json
        return Participant(self, mid, reply.json)

    def wait(self, mid: str, name: str, **extra) -> "Participant":
        """A join that waits in the meeting's lobby (202)."""
        reply = self.call("POST", f"/meetings/{mid}/join", {"name": name, **extra})
        assert reply.status == 202, reply.json
        assert reply.json["waiting"] is True and reply.json["participant"]["state"] == "waiting"
        return Participant(self, mid, reply.json)


class Participant:
    """Someone who joined: their token, id, and the wsUrl the join response gave them."""

    def __init__(self, rest: Rest, mid: str, joined: dict):
        self.rest = rest
        self.mid = mid
        self.token = joined["token"]
        self.pid = joined["participant"]["id"]
        self.ws_url = joined["wsUrl"]

    def connect(self) -> "Socket":
        return Socket(f"{self.ws_url}?token={self.token}")

    def send_ticket(self, to: "Participant", kind: str = "candidates", data=None) -> dict:
        if data is None and kind == "candidates":
            data = [{"candidate": "candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host",
                     "sdpMid": "0", "sdpMLineIndex": 0}]
        reply = self.rest.call("POST", f"/meetings/{self.mid}/tickets",
                               {"to": to.pid, "kind": kind, "data": data}, self.token)
        assert reply.status == 202, reply.json
        return reply.json["ticket"]

    def replay(self, after: str | None = None) -> list:
        query = f"?after={after}" if after else ""
        reply = self.rest.call("GET", f"/meetings/{self.mid}/tickets{query}", token=self.token)
        assert reply.status == 200, reply.json
        return reply.json["tickets"]

    def update(self, **state) -> dict:
        reply = self.rest.call("PATCH", f"/meetings/{self.mid}/participants/me", state,
                               self.token)
        assert reply.status == 200, reply.json
        return reply.json["participant"]

    def say(self, text: str, to: "Participant | None" = None) -> dict:
        body = {"text": text} if to is None else {"text": text, "to": to.pid}
        reply = self.rest.call("POST", f"/meetings/{self.mid}/messages", body, self.token)
        assert reply.status == 201, reply.json
        return reply.json["message"]

    def history(self, query: str = "") -> dict:
        """`{messages, more}` of GET .../messages with `query` (e.g. `?before=<id>`)."""
        reply = self.rest.call("GET", f"/meetings/{self.mid}/messages{query}", token=self.token)
        assert reply.status == 200, reply.json
        return reply.json

    def react(self, emoji: str) -> Reply:
        return self.rest.call("POST", f"/meetings/{self.mid}/reactions", {"emoji": emoji},
                              self.token)

    def leave(self) -> None:
        reply = self.rest.call("DELETE", f"/meetings/{self.mid}/participants/me",
                               token=self.token)
        assert reply.status == 204, reply.json


class Socket:
    """A client WebSocket that remembers every event it received, in order."""

    def __init__(self, url: str):
        self.conn = connect(url, proxy=None, open_timeout=TIMEOUT, close_timeout=5,
                            max_size=None, compression=None, legacy=True)
        self.events: list[dict] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.conn.close()

    def send(self, payload) -> None:
        self.conn.send(payload if isinstance(payload, str) else json.dumps(payload))

    def wait_for(self, match) -> dict:
        """The first new event for which `match(event)` is true (earlier ones are kept)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event; received {self.events}")
            try:
                frame = self.conn.recv(timeout=remaining)
            except TimeoutError:
                continue
            event = json.loads(frame)
            self.events.append(event)
            if match(event):
                return event

    def of(self, name: str) -> list[dict]:
        return [e for e in self.events if e.get("event") == name]


def joined(pid: str):
    return lambda e: e.get("event") == "participant-joined" and e["participant"]["id"] == pid


def updated(pid: str, **fields):
    return lambda e: (e.get("event") == "participant-updated" and e["participant"]["id"] == pid
                      and all(e["participant"].get(k) == v for k, v in fields.items()))


def left(pid: str):
    return lambda e: e.get("event") == "participant-left" and e["participant"]["id"] == pid


def message(text: str):
    return lambda e: e.get("event") == "message" and e["message"]["text"] == text


def ticket(tid: str):
    return lambda e: e.get("event") == "ticket" and e["ticket"]["id"] == tid


def both_copies(socket: "Socket", tid: str) -> None:
    """Wait until ticket `tid` has arrived twice: straight from the request that stored it,
    then from the table's stream, whose copy comes after everything the stream had before."""
    def twice(_=None):
        return sum(1 for e in socket.of("ticket") if e["ticket"]["id"] == tid) >= 2
    if not twice():
        socket.wait_for(twice)


def event(name: str):
    return lambda e: e.get("event") == name


def contiguous_end(ids: list[str]) -> str | None:
    """The last ticket id received with no gap before it (ids are 1, 2, 3, ... per
    recipient, and a client dedupes them), where a replay after a reconnect starts."""
    last = None
    for expected, tid in enumerate(sorted(set(ids)), start=1):
        if int(tid) != expected:
            break
        last = tid
    return last


def join_all(rest: Rest, mid: str, names, people: dict, sockets: dict) -> None:
    """`names` join one after another, each opening a socket, into `people` and `sockets`
    (keyed by lower-case name, holding whoever is in already); each step waits until every
    socket has heard of the join and of the new socket, so a test starts from a settled room."""
    for name in names:
        newcomer = rest.join(mid, name)
        for ws in sockets.values():
            ws.wait_for(joined(newcomer.pid))
        sockets[name.lower()] = newcomer.connect()
        for ws in list(sockets.values())[:-1]:
            ws.wait_for(updated(newcomer.pid, connected=True))
        people[name.lower()] = newcomer
