"""Tickets by REST POST vs on the sender's open WebSocket, on one local stack in one run:
latency from the sender's send to the recipient's socket receiving the ticket (first
copy), one ticket at a time and under a steady load; plus the sender's confirmation
(the POST's 202 / the `ticket-stored` frame).

`python -m bench.ticket_transport [--repeats N] [--rate R] [--seconds S]`; prints a
Markdown table (docs/API.md quotes one run). Both ways alternate in the same run, so
drift on a shared machine hits both alike.
"""

import argparse
import asyncio
import json
import random
import secrets
import time

import aiohttp
import websockets

from bench.processes import local_stack


def _pct(values: list, p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


class Person:
    def __init__(self, mid: str, joined: dict):
        self.mid, self.pid, self.token = mid, joined["participant"]["id"], joined["token"]
        self.url = f"{joined['wsUrl']}?token={self.token}"
        self.ws = None


class Run:
    """People in meetings on the stack; every socket is read by one task that notes when
    each ticket (by key) first reaches its recipient and when its sender heard it stored."""

    def __init__(self, base: str):
        self.api = base.rstrip("/") + "/api"
        self.session = None
        self.sent: dict[str, float] = {}        # key -> send time
        self.arrived: dict[str, float] = {}     # key -> first arrival at the recipient
        self.confirmed: dict[str, float] = {}   # key -> 202 / ticket-stored at the sender
        self.errors: list = []
        self.waiters: dict[str, asyncio.Future] = {}
        self.tasks = []

    async def meeting(self, size: int) -> list[Person]:
        async with self.session.post(f"{self.api}/meetings",
                                     json={"name": "transport", "maxParticipants": size}) as r:
            mid = (await r.json())["meeting"]["id"]
        people = []
        for i in range(size):
            async with self.session.post(f"{self.api}/meetings/{mid}/join",
                                         json={"name": f"p{i}"}) as r:
                person = Person(mid, await r.json())
            person.ws = await websockets.connect(person.url, max_size=2**20, compression=None)
            self.tasks.append(asyncio.create_task(self._read(person)))
            people.append(person)
        return people

    async def _read(self, person: Person) -> None:
        async for frame in person.ws:
            now = time.perf_counter()
            event = json.loads(frame)
            name = event.get("event")
            if name == "ticket":
                key = event["ticket"]["data"][0]["usernameFragment"]
                if key not in self.arrived:
                    self.arrived[key] = now
                    waiter = self.waiters.pop(key, None)
                    if waiter and not waiter.done():
                        waiter.set_result(now)
            elif name == "ticket-stored":
                self.confirmed[event["key"]] = now
            elif name == "error":
                self.errors.append(event)

    async def send(self, way: str, sender: Person, to: Person) -> str:
        key = secrets.token_urlsafe(12)
        body = {"to": to.pid, "kind": "candidates", "key": key,
                "data": [{"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host",
                          "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": key}]}
        self.sent[key] = time.perf_counter()
        try:
            if way == "ws":
                await sender.ws.send(json.dumps({"action": "ticket", **body}))
            else:
                async with self.session.post(
                        f"{self.api}/meetings/{sender.mid}/tickets", json=body,
                        headers={"Authorization": f"Bearer {sender.token}"}) as r:
                    await r.read()
                    self.confirmed[key] = time.perf_counter()
                    if r.status != 202:
                        self.errors.append((r.status, key))
        except (aiohttp.ClientError, websockets.WebSocketException) as err:
            self.errors.append((type(err).__name__, key))
        return key

    def latencies(self, keys: list[str]) -> tuple[list, list, int]:
        delivered = [(self.arrived[k] - self.sent[k]) * 1000 for k in keys if k in self.arrived]
        confirmed = [(self.confirmed[k] - self.sent[k]) * 1000 for k in keys
                     if k in self.confirmed]
        return delivered, confirmed, len(keys) - len(delivered)


async def light(run: Run, repeats: int) -> dict:
    """One ticket at a time, REST and WebSocket in random order each round; each waits
    for the first copy, then a pause lets the stream's copy drain."""
    ada, bob = await run.meeting(2)
    await asyncio.sleep(0.5)
    keys = {"rest": [], "ws": []}
    rng = random.Random(1)
    for _ in range(repeats):
        ways = ["rest", "ws"]
        rng.shuffle(ways)
        for way in ways:
            sender, to = (ada, bob) if rng.random() < 0.5 else (bob, ada)
            waiter = asyncio.get_running_loop().create_future()
            key_task = asyncio.create_task(run.send(way, sender, to))
            await asyncio.sleep(0)
            key = await key_task
            if key not in run.arrived:
                run.waiters[key] = waiter
                try:
                    await asyncio.wait_for(waiter, 5)
                except TimeoutError:
                    pass
            keys[way].append(key)
            await asyncio.sleep(0.05)
    return keys


async def loaded(run: Run, rate: float, seconds: float, phases: int = 2) -> dict:
    """`rate` tickets/s in all from 20 people (4 meetings of 5) to random peers, in
    alternating REST and WebSocket phases of `seconds` each."""
    groups = [await run.meeting(5) for _ in range(4)]
    await asyncio.sleep(1)
    keys = {"rest": [], "ws": []}
    rng = random.Random(2)
    pending = set()
    for phase in range(phases * 2):
        way = "rest" if phase % 2 == 0 else "ws"
        start = time.perf_counter()
        n = 0
        while True:
            at = start + n / rate
            if at - start >= seconds:
                break
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            group = rng.choice(groups)
            sender, to = rng.sample(group, 2)
            task = asyncio.create_task(run.send(way, sender, to))
            pending.add(task)
            task.add_done_callback(lambda t, w=way: (pending.discard(t),
                                                     keys[w].append(t.result())))
            n += 1
        await asyncio.sleep(3)  # drain before the other way starts
    return keys


def _row(label: str, run: Run, keys: list) -> str:
    delivered, confirmed, lost = run.latencies(keys)
    return (f"| {label} | {len(keys)} | {lost} | {_pct(delivered, 50):.1f} | "
            f"{_pct(delivered, 99):.1f} | {_pct(confirmed, 50):.1f} | {_pct(confirmed, 99):.1f} |")


async def main(repeats: int, rate: float, seconds: float) -> str:
    with local_stack() as (base, _pid):
        run = Run(base)
        async with aiohttp.ClientSession() as session:
            run.session = session
            one = await light(run, repeats)
            many = await loaded(run, rate, seconds)
            for task in run.tasks:
                task.cancel()
    lines = ["| way | tickets | not delivered | to recipient p50 ms | p99 ms "
             "| sender's confirmation p50 ms | p99 ms |", "|---|---|---|---|---|---|---|"]
    for label, keys in (("REST, one at a time", one["rest"]),
                        ("WebSocket, one at a time", one["ws"]),
                        (f"REST, {rate:g}/s", many["rest"]),
                        (f"WebSocket, {rate:g}/s", many["ws"])):
        lines.append(_row(label, run, keys))
    if run.errors:
        lines.append(f"\nerrors: {len(run.errors)}, e.g. {run.errors[:3]}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(asyncio.run(main(args.repeats, args.rate, args.seconds)))
