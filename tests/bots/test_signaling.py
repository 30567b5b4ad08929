"""The bot's socket against a small in-process WebSocket server: reconnects after a drop,
replays after every open, and hands every ticket on once, in order."""

import asyncio
import json

from aiohttp import web

from bots.runtime.api import ApiError
from bots.runtime.signaling import Signaling
from bots.runtime.tickets import pad

from .aio import run_async


class Server:
    """Stores the tickets addressed to the bot, pushes what the test says, answers pings."""

    def __init__(self):
        self.stored: list[dict] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.opened = asyncio.Event()
        self.answer_pings = True
        self.replays: list[str | None] = []
        self.refuse_replay: ApiError | None = None

    def store(self, n: int) -> dict:
        ticket = {"id": pad(n), "from": "p1", "to": "bot", "kind": "candidates", "data": []}
        self.stored.append(ticket)
        return ticket

    async def push(self, payload: dict) -> None:
        await self.sockets[-1].send_str(json.dumps(payload))

    async def replay(self, after: str | None) -> list[dict]:
        self.replays.append(after)
        if self.refuse_replay:
            raise self.refuse_replay
        return [t for t in self.stored if after is None or t["id"] > after][:200]

    async def ws(self, request):
        assert request.query["token"] == "tok"
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        self.opened.set()
        async for msg in ws:
            if json.loads(msg.data) == {"action": "ping"} and self.answer_pings:
                await ws.send_str('{"event":"pong"}')
        return ws


async def serve(server: Server):
    app = web.Application()
    app.router.add_get("/ws", server.ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"ws://127.0.0.1:{port}/ws"


def scenario(test):
    """Run `test(server, signaling, seen)` against a fresh server, within 30 s."""
    async def main():
        server = Server()
        runner, url = await serve(server)
        seen = {"tickets": [], "events": [], "status": [], "fatal": []}
        sig = Signaling(url, "tok", server.replay,
                        on_ticket=lambda t: seen["tickets"].append(int(t["id"])),
                        on_event=seen["events"].append, on_status=seen["status"].append,
                        on_fatal=seen["fatal"].append)
        try:
            await test(server, sig, seen)
        finally:
            await sig.close()
            await runner.cleanup()
    run_async(main, timeout=30)


async def until(check, every=0.02):
    while not check():
        await asyncio.sleep(every)


def test_copies_and_replays_hand_each_ticket_on_once_in_order_across_a_reconnect():
    async def test(server, sig, seen):
        server.store(1)
        server.store(2)
        sig.start()
        await until(lambda: seen["tickets"] == [1, 2])  # the replay after the first open
        await server.push({"event": "ticket", "ticket": server.stored[1]})  # a late copy
        await server.push({"event": "ticket", "ticket": server.store(3)})
        await server.push({"event": "ticket", "ticket": server.stored[2]})  # the stream's copy
        await until(lambda: seen["tickets"][-1:] == [3])
        await server.sockets[-1].close()  # the connection drops...
        server.store(4)  # ...and what is stored meanwhile is pushed to nobody
        server.store(5)
        await until(lambda: len(server.sockets) == 2)
        await until(lambda: seen["tickets"][-1:] == [5])
        await server.push({"event": "ticket", "ticket": server.stored[4]})  # the stream's copy
        await server.push({"event": "participant-joined", "participant": {"id": "p9"}})
        await until(lambda: seen["events"])
        assert seen["tickets"] == [1, 2, 3, 4, 5]
        assert seen["status"] == ["open", "reconnecting", "open"]
        assert server.replays == [None, pad(3)]
        assert seen["events"] == [{"event": "participant-joined", "participant": {"id": "p9"}}]
    scenario(test)


def test_a_gap_in_pushed_tickets_is_filled_by_a_replay():
    async def test(server, sig, seen):
        sig.start()
        await server.opened.wait()
        await until(lambda: server.replays == [None])
        first, _, third = server.store(1), server.store(2), server.store(3)
        await server.push({"event": "ticket", "ticket": first})
        await server.push({"event": "ticket", "ticket": third})  # the push of 2 was lost
        await until(lambda: seen["tickets"] == [1, 2, 3])
        assert server.replays[-1] == pad(1)
    scenario(test)


def test_a_socket_that_stops_answering_pings_is_replaced():
    async def test(server, sig, seen):
        sig.ping_every, sig.pong_wait = 0.2, 0.3
        server.answer_pings = False
        sig.start()
        await until(lambda: len(server.sockets) >= 2)
        assert seen["status"][:3] == ["open", "reconnecting", "open"]
    scenario(test)


def test_a_replay_saying_we_are_gone_ends_the_socket_for_good():
    async def test(server, sig, seen):
        server.refuse_replay = ApiError(403, "participant_gone", "removed")
        sig.start()
        await until(lambda: seen["fatal"])
        assert seen["fatal"] == ["participant_gone"] and sig.closed
        await until(lambda: server.sockets[0].closed)
        await asyncio.sleep(1)  # and it does not come back
        assert len(server.sockets) == 1
    scenario(test)
