"""Local stack capacity: concurrent WebSocket connections held, and memory per connection.

Connections are opened in steps up to a stated bound; after each step every connection
must still answer a ping, and the stack's resident memory is read from /proc.
"""

import asyncio
import json
from pathlib import Path

import aiohttp
import websockets

from bench.processes import descendants, local_stack


def _own_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def rss_mib(pid: int) -> float:
    """Resident memory of the stack: its process and every process under it (workers)."""
    total = _own_rss_mib(pid)
    for child in descendants(pid):
        try:
            total += _own_rss_mib(child)
        except (OSError, RuntimeError):  # ended meanwhile
            pass
    return total


async def _open(api: str, session: aiohttp.ClientSession, count: int) -> list:
    """`count` participants (8 per meeting), each with an open WebSocket."""
    sockets = []
    while len(sockets) < count:
        async with session.post(f"{api}/meetings", json={"name": "cap", "maxParticipants": 8}) as r:
            mid = (await r.json())["meeting"]["id"]
        for i in range(min(8, count - len(sockets))):
            async with session.post(f"{api}/meetings/{mid}/join", json={"name": f"p{i}"}) as r:
                joined = await r.json()
            sockets.append(await websockets.connect(f"{joined['wsUrl']}?token={joined['token']}"))
    return sockets


async def _all_answer(sockets: list) -> int:
    async def ping(ws):
        await ws.send(json.dumps({"action": "ping"}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if frame.get("event") == "pong":
                return True

    results = await asyncio.gather(*(ping(ws) for ws in sockets), return_exceptions=True)
    return sum(1 for r in results if r is True)


async def _measure(base: str, pid: int, steps: list[int]) -> list[dict]:
    api = base + "/api"
    rows = []
    async with aiohttp.ClientSession() as session:
        baseline = rss_mib(pid)
        sockets = []
        previous = (0, baseline)
        for target in steps:
            sockets += await _open(api, session, target - len(sockets))
            answered = await _all_answer(sockets)
            rss = rss_mib(pid)
            rows.append({"connections": len(sockets), "answered": answered, "rss_mib": rss,
                         "baseline_mib": baseline,
                         "marginal_kib": (rss - previous[1]) * 1024 / (len(sockets) - previous[0])})
            previous = (len(sockets), rss)
            if answered < len(sockets):
                break
        for ws in sockets:
            await ws.close()
    return rows


def run(quick: bool = False) -> dict:
    steps = [20, 40] if quick else [100, 250, 500, 1000]
    with local_stack() as (base, pid):
        rows = asyncio.run(_measure(base, pid, steps))
    return {"rows": rows, "bound": steps[-1]}


def markdown(result: dict) -> str:
    lines = ["| open connections | answering ping | stack RSS MiB | idle RSS MiB "
             "| KiB per added connection |", "|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['connections']} | {r['answered']} | {r['rss_mib']:.0f} | "
                     f"{r['baseline_mib']:.0f} | {r['marginal_kib']:.1f} |")
    lines += ["", f"Bound stated for this run: {result['bound']} connections (each one a "
              "joined participant, 8 per meeting; every one must answer a ping at each step). "
              "Memory per connection includes its participant and connection items in the "
              "embedded DynamoDB and the stream records its writes leave (moto keeps every stream "
              "record in memory). The first step includes warm-up; later steps show the "
              "marginal cost."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
