"""A participant over Parley's protocol (REST + WebSocket), as a page drives it, for the
benchmarks that put whole meetings through a stack: join, listen, send tickets, leave."""

import asyncio
import json
from dataclasses import dataclass, field

import aiohttp
import websockets


@dataclass
class Person:
    mid: str
    pid: str
    token: str
    ws: object
    peers: list = field(default_factory=list)  # pids present when this one joined
    tickets: dict = field(default_factory=dict)  # ticket id -> ticket, first copy only
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    listener: asyncio.Task | None = None


class Protocol:
    """REST calls on one aiohttp session; one WebSocket per person."""

    def __init__(self, session: aiohttp.ClientSession, api: str):
        self.session = session
        self.api = api

    async def create(self, name: str = "bench", size: int = 4) -> str:
        async with self.session.post(f"{self.api}/meetings",
                                     json={"name": name, "maxParticipants": size}) as r:
            return (await r.json())["meeting"]["id"]

    async def join(self, mid: str, name: str, on_ticket=None, on_event=None) -> Person:
        """Join by REST, open the WebSocket, listen for tickets (`on_ticket(person, t)`)
        and other events (`on_event(person, event)`)."""
        async with self.session.post(f"{self.api}/meetings/{mid}/join",
                                     json={"name": name}) as r:
            joined = await r.json()
        ws = await websockets.connect(f"{joined['wsUrl']}?token={joined['token']}")
        person = Person(mid, joined["participant"]["id"], joined["token"], ws,
                        peers=[p["id"] for p in joined["participants"]
                               if p["id"] != joined["participant"]["id"]])
        person.listener = asyncio.create_task(self._listen(person, on_ticket, on_event))
        return person

    async def present(self, person: Person) -> list[str]:
        """Who is in the meeting now (a page re-reads this once its socket is open)."""
        async with self.session.get(f"{self.api}/meetings/{person.mid}/participants",
                                    headers={"Authorization": f"Bearer {person.token}"}) as r:
            body = await r.json()
        return [p["id"] for p in body["participants"]]

    async def _listen(self, person: Person, on_ticket, on_event) -> None:
        try:
            async for frame in person.ws:
                event = json.loads(frame)
                if event.get("event") != "ticket":
                    if on_event is not None:
                        await on_event(person, event)
                    continue
                ticket = event["ticket"]
                if ticket["id"] in person.tickets:
                    continue  # the stream's copy of one the fast path delivered
                person.tickets[ticket["id"]] = ticket
                person.arrived.set()
                if on_ticket is not None:
                    await on_ticket(person, ticket)
        except websockets.ConnectionClosed:
            pass

    async def send(self, person: Person, to: str, kind: str, data) -> None:
        async with self.session.post(f"{self.api}/meetings/{person.mid}/tickets",
                                     json={"to": to, "kind": kind, "data": data},
                                     headers={"Authorization": f"Bearer {person.token}"}) as r:
            await r.read()
            if r.status != 202:
                raise RuntimeError(f"ticket refused with {r.status}")

    async def leave(self, person: Person) -> None:
        async with self.session.delete(f"{self.api}/meetings/{person.mid}/participants/me",
                                       headers={"Authorization": f"Bearer {person.token}"}) as r:
            await r.read()
        await person.ws.close()
        if person.listener is not None:
            person.listener.cancel()


async def received(people: list, count, timeout: float) -> None:
    """Wait until `count(person)` tickets reached each person (or fail after `timeout`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for person in people:
        while len(person.tickets) < count(person):
            person.arrived.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"{person.pid} got {len(person.tickets)} of "
                                   f"{count(person)} tickets")
            try:
                await asyncio.wait_for(person.arrived.wait(), left)
            except TimeoutError:
                continue
