"""Join storm: many people join many meetings within a few seconds and negotiate over
Parley's protocol (no browsers): each pair exchanges an offer, an answer and a candidate
batch each way, as tickets. Measured: the time from the first join until the last ticket
is delivered, the stack's CPU over that time and its peak resident memory.
"""

import asyncio
import random
import time

import aiohttp

from bench.capacity import rss_mib
from bench.processes import local_stack, process_cpu_seconds
from bench.protocol import Protocol

PER_MEETING = 4


def _sdp(kind: str, pid: str) -> dict:
    return {"type": kind, "sdp": f"v=0\r\no=- {pid} 2 IN IP4 127.0.0.1\r\ns=-\r\n"}


def _candidates(pid: str) -> list:
    return [{"candidate": f"candidate:1 1 udp 2122260223 192.0.2.1 {port} typ host",
             "sdpMid": "0", "sdpMLineIndex": 0} for port in (50000, 50001)]


class Storm:
    """Who offers: of each pair, the smaller pid, as soon as it knows of the other (from
    the roster it re-reads once its socket is open, or a participant-joined event)."""

    def __init__(self, proto: Protocol):
        self.proto = proto
        self.offered = set()  # (from, to)
        self.expected = 0
        self.delivered = 0
        self.done = asyncio.Event()
        self.last_delivery = 0.0

    async def _offer(self, person, peer: str) -> None:
        if person.pid < peer and (person.pid, peer) not in self.offered:
            self.offered.add((person.pid, peer))
            await self.proto.send(person, peer, "description", _sdp("offer", person.pid))
            await self.proto.send(person, peer, "candidates", _candidates(person.pid))

    async def on_event(self, person, event) -> None:
        if event.get("event") == "participant-joined":
            await self._offer(person, event["participant"]["id"])

    async def on_ticket(self, person, ticket) -> None:
        self.delivered += 1
        self.last_delivery = time.perf_counter()
        if self.delivered >= self.expected:
            self.done.set()
        data = ticket["data"]
        if ticket["kind"] == "description" and data.get("type") == "offer":
            await self.proto.send(person, ticket["from"], "description",
                                  _sdp("answer", person.pid))
            await self.proto.send(person, ticket["from"], "candidates", _candidates(person.pid))

    async def person(self, mid: str, name: str, delay: float):
        await asyncio.sleep(delay)
        person = await self.proto.join(mid, name, self.on_ticket, self.on_event)
        for peer in await self.proto.present(person):
            if peer != person.pid:
                await self._offer(person, peer)
        return person


async def _storm(base: str, pid: int, meetings: int, window: float) -> dict:
    rng = random.Random(11)
    async with aiohttp.ClientSession() as session:
        proto = Protocol(session, base + "/api")
        mids = [await proto.create(f"storm {m}", PER_MEETING) for m in range(meetings)]
        storm = Storm(proto)
        pairs = PER_MEETING * (PER_MEETING - 1) // 2
        storm.expected = meetings * pairs * 4  # offer, answer and a candidate batch each way
        peak, sampling = [rss_mib(pid)], True

        async def sample():
            while sampling:
                peak.append(rss_mib(pid))
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        cpu0, start = process_cpu_seconds(pid), time.perf_counter()
        people = await asyncio.gather(*(storm.person(mid, f"p{i}", rng.random() * window)
                                        for mid in mids for i in range(PER_MEETING)))
        await asyncio.wait_for(storm.done.wait(), 60 + window)
        cpu = process_cpu_seconds(pid) - cpu0
        sampling = False
        await sampler
        for person in people:
            await proto.leave(person)
    return {"people": len(people), "meetings": meetings, "window_s": window,
            "tickets": storm.delivered, "expected": storm.expected,
            "last_delivery_s": storm.last_delivery - start, "cpu_s": cpu,
            "peak_rss_mib": max(peak), "rss_before_mib": peak[0]}


def run(quick: bool = False) -> dict:
    meetings, window = (2, 2.0) if quick else (10, 10.0)
    with local_stack() as (base, pid):
        return asyncio.run(_storm(base, pid, meetings, window))


def markdown(r: dict) -> str:
    return "\n".join([
        "| people | meetings | joins within | tickets delivered | last delivery after "
        "| stack CPU | stack RSS before → peak |",
        "|---|---|---|---|---|---|---|",
        f"| {r['people']} | {r['meetings']} | {r['window_s']:.0f} s | {r['tickets']} of "
        f"{r['expected']} | {r['last_delivery_s']:.1f} s | {r['cpu_s']:.1f} s | "
        f"{r['rss_before_mib']:.0f} → {r['peak_rss_mib']:.0f} MiB |",
        "",
        f"{r['people']} people join {r['meetings']} meetings of {PER_MEETING} at random "
        f"moments within {r['window_s']:.0f} s (REST join, WebSocket, roster re-read), and "
        "every pair negotiates over tickets: an offer, an answer and a candidate batch each "
        "way. The last delivery is counted from the first join; the stack's CPU over the "
        "same span (its share of one core: "
        f"{r['cpu_s'] / max(r['last_delivery_s'], 1e-9) * 100:.0f}%).",
    ])


if __name__ == "__main__":
    print(markdown(run()))
