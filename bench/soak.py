"""Soak: meeting after meeting through one local stack process, as a team using `make run`
for weeks would. Each meeting is created, four people join over REST and WebSocket, they
exchange 40 tickets (each delivered before the next meeting starts), and everyone leaves.
At every step the stack's resident memory and the time per meeting are read: both
should level off after the first step.
"""

import asyncio
import statistics
import time

import aiohttp

from bench.capacity import rss_mib
from bench.processes import local_stack, process_cpu_seconds
from bench.protocol import Protocol, received

PEOPLE = 4
TICKETS = 40  # per meeting: ten from each person, round the others in turn
# The autoclear purge runs as often as the retention period (devserver/schedule.py): a
# minute here, so a run of minutes shows the level a team's stack settles at after two
# days with the default 48 h.
RETENTION_HOURS = 1 / 60


async def one_meeting(proto: Protocol, n: int) -> None:
    mid = await proto.create(f"soak {n}", PEOPLE)
    people = [await proto.join(mid, f"p{i}") for i in range(PEOPLE)]
    expected = {p.pid: 0 for p in people}
    for i in range(TICKETS):
        sender = people[i % PEOPLE]
        others = [p for p in people if p is not sender]
        to = others[(i // PEOPLE) % len(others)]
        expected[to.pid] += 1
        await proto.send(sender, to.pid, "candidates",
                         [{"candidate": f"candidate:{i} 1 udp 1 192.0.2.1 {i} typ host",
                           "sdpMid": "0", "sdpMLineIndex": 0}])
    await received(people, lambda p: expected[p.pid], timeout=30)
    for person in people:
        await proto.leave(person)


async def _soak(base: str, pid: int, meetings: int, step: int) -> list[dict]:
    rows = []
    async with aiohttp.ClientSession() as session:
        proto = Protocol(session, base + "/api")
        durations, cpu0 = [], process_cpu_seconds(pid)
        for n in range(1, meetings + 1):
            start = time.perf_counter()
            await one_meeting(proto, n)
            durations.append((time.perf_counter() - start) * 1000)
            if n % step == 0:
                cpu = process_cpu_seconds(pid)
                rows.append({"meetings": n, "rss_mib": rss_mib(pid),
                             "meeting_ms": statistics.median(durations),
                             "cpu_ms": (cpu - cpu0) * 1000 / len(durations)})
                durations, cpu0 = [], cpu
    return rows


def run(quick: bool = False) -> dict:
    meetings, step = (20, 10) if quick else (1000, 100)
    with local_stack(PARLEY_RETENTION_HOURS=str(RETENTION_HOURS)) as (base, pid):
        idle = rss_mib(pid)
        rows = asyncio.run(_soak(base, pid, meetings, step))
    return {"rows": rows, "idle_mib": idle, "step": step}


def markdown(result: dict) -> str:
    rows = result["rows"]
    lines = ["| meetings | stack RSS MiB | median ms per meeting | stack CPU ms per meeting |",
             "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['meetings']} | {r['rss_mib']:.0f} | {r['meeting_ms']:.0f} | "
                     f"{r['cpu_ms']:.0f} |")
    growth = (rows[-1]["rss_mib"] - rows[0]["rss_mib"]) if len(rows) > 1 else 0.0
    slower = rows[-1]["meeting_ms"] / rows[0]["meeting_ms"] if rows else 1.0
    lines += ["", f"One stack process, meetings one after another: create, {PEOPLE} joins over "
              f"REST and WebSocket, {TICKETS} tickets (each delivered), everyone leaves. "
              f"The stack ran with a retention of {RETENTION_HOURS * 60:.0f} minute, so the "
              "autoclear purge (run as often as the retention period) removes finished "
              "meetings during the run, as the default 48 h does after two days. "
              f"Idle RSS before the first: {result['idle_mib']:.0f} MiB. After the first "
              f"{result['step']}: RSS **{growth:+.0f} MiB**, time per meeting "
              f"**{slower:.2f}×** the first step's (target: flat)."]
    return "\n".join(lines)


def facts(result: dict) -> dict:
    rows = result["rows"]
    return {"soak_growth_mib": rows[-1]["rss_mib"] - rows[0]["rss_mib"] if len(rows) > 1
            else 0.0}


if __name__ == "__main__":
    print(markdown(run()))
