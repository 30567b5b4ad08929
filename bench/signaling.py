"""Signaling delivery: many WebSocket clients post tickets at a steady rate; we measure
post→receive latency, losses, duplicates and per-recipient order, for Parley's local
stack and, as the baseline, for the PeerJS signaling server carrying the same pattern.

Parley stores every ticket (durable, replayable) and pushes it from the table's stream;
PeerJS relays in memory. Both run on this machine; the load generator is this process.
"""

import asyncio
import json
import random
import statistics
import time
from dataclasses import dataclass, field

import aiohttp
import websockets


def _candidate(sender: str, seq: int) -> dict:
    return {"candidate": f"candidate:{seq} 1 udp 2122260223 192.0.2.1 {sender} "
                         f"{time.perf_counter_ns()}", "sdpMid": "0", "sdpMLineIndex": 0}


def _sent_ns(candidate: str) -> int:
    return int(candidate.rsplit(" ", 1)[1])


@dataclass
class Tally:
    sent: int = 0
    post_errors: int = 0
    latencies_ms: list = field(default_factory=list)
    post_ms: list = field(default_factory=list)
    duplicates: int = 0
    order_violations: int = 0
    seen: dict = field(default_factory=dict)  # recipient -> set of (sender, seq)
    last: dict = field(default_factory=dict)  # (recipient, sender) -> last seq
    # Copies of one ticket beyond the second: Parley delivers each ticket twice (the fast
    # path and the stream, dropped by id), so only a third copy is a duplicate too many.
    extra_copies: int = 0
    copies: dict = field(default_factory=dict)  # (recipient, sender, seq) -> copies

    def received(self, recipient: str, sender: str, seq: int, sent_ns: int) -> None:
        seen = self.seen.setdefault(recipient, set())
        if (sender, seq) in seen:
            self.duplicates += 1
            key = (recipient, sender, seq)
            self.copies[key] = self.copies.get(key, 1) + 1
            if self.copies[key] > 2:
                self.extra_copies += 1
            return
        seen.add((sender, seq))
        if self.last.get((recipient, sender), -1) > seq:
            self.order_violations += 1
        self.last[(recipient, sender)] = seq
        self.latencies_ms.append((time.perf_counter_ns() - sent_ns) / 1e6)

    @property
    def delivered(self) -> int:
        return sum(len(s) for s in self.seen.values())

    def summary(self) -> dict:
        lat = sorted(self.latencies_ms) or [float("nan")]

        def pct(p):
            return lat[min(len(lat) - 1, int(p / 100 * len(lat)))]

        return {"sent": self.sent, "delivered": self.delivered, "duplicates": self.duplicates,
                "extra_copies": self.extra_copies,
                "order_violations": self.order_violations, "post_errors": self.post_errors,
                "p50": pct(50), "p95": pct(95), "p99": pct(99),
                "post_p50": statistics.median(self.post_ms) if self.post_ms else None}


class ParleyClients:
    """Meetings on the local stack; tickets go out by REST and come back over WebSocket."""

    name = "Parley"

    def __init__(self, base_url: str):
        self.api = base_url.rstrip("/") + "/api"
        self.session = None
        self.people = []  # (meeting index, pid, token, ws)

    async def setup(self, meetings: int, per_meeting: int) -> list[list[str]]:
        self.session = aiohttp.ClientSession()
        groups = []
        for m in range(meetings):
            async with self.session.post(f"{self.api}/meetings", json={
                    "name": f"bench {m}", "maxParticipants": max(2, per_meeting)}) as r:
                mid = (await r.json())["meeting"]["id"]
            group = []
            for p in range(per_meeting):
                async with self.session.post(f"{self.api}/meetings/{mid}/join",
                                             json={"name": f"p{p}"}) as r:
                    joined = await r.json()
                ws = await websockets.connect(f"{joined['wsUrl']}?token={joined['token']}",
                                              max_size=2**20)
                self.people.append({"mid": mid, "pid": joined["participant"]["id"],
                                    "token": joined["token"], "ws": ws})
                group.append(joined["participant"]["id"])
            groups.append(group)
        await asyncio.sleep(0.5)  # let joined/connected events drain before measuring
        for person in self.people:
            while True:
                try:
                    await asyncio.wait_for(person["ws"].recv(), 0.05)
                except TimeoutError:
                    break
        return groups

    def by_pid(self, pid):
        return next(p for p in self.people if p["pid"] == pid)

    async def send(self, sender: str, to: str, seq: int, tally: Tally) -> None:
        person = self.by_pid(sender)
        start = time.perf_counter()
        async with self.session.post(
                f"{self.api}/meetings/{person['mid']}/tickets",
                json={"to": to, "kind": "candidates", "data": [_candidate(sender, seq)]},
                headers={"Authorization": f"Bearer {person['token']}"}) as r:
            await r.read()
            if r.status != 202:
                tally.post_errors += 1
        tally.post_ms.append((time.perf_counter() - start) * 1000)

    async def listen(self, pid: str, tally: Tally) -> None:
        ws = self.by_pid(pid)["ws"]
        async for frame in ws:
            event = json.loads(frame)
            if event.get("event") != "ticket":
                continue
            cand = event["ticket"]["data"][0]["candidate"]
            _, seq = cand.split(" ", 1)[0].split(":")
            sender = event["ticket"]["from"]
            tally.received(pid, sender, int(seq), _sent_ns(cand))

    async def close(self):
        for person in self.people:
            await person["ws"].close()
        await self.session.close()


class PeerJSClients:
    """The same clients on the PeerJS server: messages relayed over WebSocket only."""

    name = "PeerJS"

    def __init__(self, ws_url: str):
        self.url = ws_url
        self.sockets = {}

    async def setup(self, meetings: int, per_meeting: int) -> list[list[str]]:
        groups = []
        for m in range(meetings):
            group = []
            for p in range(per_meeting):
                pid = f"m{m}p{p}"
                ws = await websockets.connect(f"{self.url}/peerjs?key=peerjs&id={pid}&token=t{pid}")
                assert json.loads(await ws.recv())["type"] == "OPEN"
                self.sockets[pid] = ws
                group.append(pid)
            groups.append(group)
        return groups

    async def send(self, sender: str, to: str, seq: int, tally: Tally) -> None:
        start = time.perf_counter()
        await self.sockets[sender].send(json.dumps(
            {"type": "CANDIDATE", "dst": to, "payload": {"seq": seq,
                                                       "candidate": _candidate(sender, seq)}}))
        tally.post_ms.append((time.perf_counter() - start) * 1000)

    async def listen(self, pid: str, tally: Tally) -> None:
        async for frame in self.sockets[pid]:
            msg = json.loads(frame)
            if msg.get("type") != "CANDIDATE":
                continue
            payload = msg["payload"]
            tally.received(pid, msg["src"], payload["seq"],
                           _sent_ns(payload["candidate"]["candidate"]))

    async def close(self):
        for ws in self.sockets.values():
            await ws.close()


async def drive(clients, meetings: int, per_meeting: int, rate_per_client: float,
                seconds: float, drain: float = 3.0, cpu=None) -> dict:
    """Every client sends `rate_per_client` tickets/s to random peers in its meeting.

    `cpu()`: the server's CPU seconds so far; given, the result has its CPU per ticket
    from the first ticket until the stream's copies have arrived too."""
    groups = await clients.setup(meetings, per_meeting)
    cpu_start = cpu() if cpu else 0.0
    tally = Tally()
    listeners = [asyncio.create_task(clients.listen(pid, tally)) for g in groups for pid in g]
    rng = random.Random(7)
    pending = set()

    async def client_loop(group, pid):
        seq = 0
        interval = 1 / rate_per_client
        next_at = time.perf_counter() + rng.random() * interval
        end = time.perf_counter() + seconds
        while next_at < end:
            await asyncio.sleep(max(0, next_at - time.perf_counter()))
            to = rng.choice([p for p in group if p != pid])
            tally.sent += 1
            task = asyncio.create_task(clients.send(pid, to, seq, tally))
            pending.add(task)
            task.add_done_callback(pending.discard)
            seq += 1
            next_at += interval

    await asyncio.gather(*(client_loop(g, pid) for g in groups for pid in g))
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    deadline = time.perf_counter() + drain
    while tally.delivered < tally.sent - tally.post_errors and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    extra = {}
    if cpu:
        deadline = time.perf_counter() + drain  # the stream's copies cost CPU too
        while tally.duplicates < tally.delivered and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        extra["cpu_ms_per_ticket"] = (cpu() - cpu_start) * 1000 / max(1, tally.sent)
    for task in listeners:
        task.cancel()
    await clients.close()
    return tally.summary() | extra | {"clients": meetings * per_meeting,
                                      "offered_rate": meetings * per_meeting * rate_per_client}
