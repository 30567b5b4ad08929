"""The meeting's WebSocket, as frontend/js/signaling.js keeps it: ping keep-alive, reconnect
with backoff, and tickets handed on once and in order, with a replay
(GET .../tickets?after=<last id>) after every (re)connect and whenever a gap shows that one
was missed. Events other than tickets are handed on as they come: what was pushed while the
socket was down is not replayed (the bot re-reads the roster instead)."""

import asyncio
import json
import logging
import random
import re

import aiohttp

from .api import ApiError
from .tickets import PAGE, TicketSequence, pad

log = logging.getLogger("parley.bot")
FATAL = re.compile(r"^(participant_gone|token_|wrong_meeting|meeting_)")  # we are not in it


class Signaling:
    ping_every = 270.0  # API Gateway drops a socket idle for 10 min...
    pong_wait = 20.0  # ...so no pong by then means a dead socket
    renew_after = 6600.0  # ...and every socket at 2 h: renew before
    gap_retry = 1.0  # while a gap is open, replay again this often

    def __init__(self, url: str, token: str, replay, *, on_ticket, on_event,
                 on_status=None, on_fatal=None):
        """replay(after) -> tickets; on_ticket(t) and on_event(msg) are plain functions;
        on_status("open" | "reconnecting"); on_fatal(code): the token no longer works."""
        self.url, self.token, self.replay = url, token, replay
        self.on_ticket, self.on_event = on_ticket, on_event
        self.on_status = on_status or (lambda status: None)
        self.on_fatal = on_fatal or (lambda code: None)
        self.sequence = TicketSequence()
        self.attempt = 0
        self.closed = False
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task | None = None
        self._catching: asyncio.Task | None = None
        self._closing: asyncio.Task | None = None
        self._again = False
        self._pong = asyncio.Event()
        self._renewing = False  # the socket is being replaced on purpose: no backoff

    def start(self) -> None:
        self._http = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run())

    def is_open(self) -> bool:
        return self.ws is not None and not self.ws.closed

    async def close(self) -> None:
        self.closed = True
        for task in (self._task, self._catching):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._http is not None:
            await self._http.close()

    async def _run(self) -> None:
        while not self.closed:
            try:
                self.ws = await self._http.ws_connect(
                    self.url, params={"token": self.token}, autoping=True, max_msg_size=0,
                    timeout=aiohttp.ClientWSTimeout(ws_close=2))
            except (TimeoutError, aiohttp.ClientError, OSError) as err:
                log.info("socket did not open (%s); trying again", err or type(err).__name__)
                await self._backoff()
                continue
            self.attempt = 0
            self._renewing = False
            self.on_status("open")
            keep_alive = asyncio.create_task(self._keep_alive(self.ws))
            self.catch_up()
            try:
                async for msg in self.ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        self._frame(msg.data)
                    elif msg.type == aiohttp.WSMsgType.ERROR:
                        break
            finally:
                keep_alive.cancel()
            if self.closed:
                return
            log.info("socket closed (%s); reconnecting", self.ws.close_code)
            self.on_status("reconnecting")
            if not self._renewing:
                await self._backoff()

    async def _keep_alive(self, ws) -> None:
        """Ping every `ping_every` seconds; a missing pong or the 2 h mark closes the socket,
        and the loop opens a new one at once."""
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + self.renew_after
        while True:
            await asyncio.sleep(max(0.0, min(self.ping_every, renew_at - loop.time())))
            if loop.time() >= renew_at:
                log.info("renewing the socket before the gateway's 2 h limit")
                break
            self._pong.clear()
            try:
                await ws.send_str('{"action":"ping"}')
                await asyncio.wait_for(self._pong.wait(), self.pong_wait)
            except (TimeoutError, ConnectionError, aiohttp.ClientError):
                log.info("no pong: reconnecting")
                break
        self._renewing = True
        await ws.close()

    async def _backoff(self) -> None:
        delay = min(15.0, 0.5 * 2 ** self.attempt) * (0.6 + random.random() * 0.4)
        self.attempt += 1
        await asyncio.sleep(delay)
        if self.attempt > 2:
            # after repeated failures, ask the REST API whether we are still in the meeting
            try:
                await self.replay(self.sequence.cursor)
            except ApiError as err:
                self._fatal(err)

    def _frame(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        event = msg.get("event")
        if event == "pong":
            self._pong.set()
        elif event == "ticket" and isinstance(msg.get("ticket"), dict):
            self.receive(msg["ticket"])
        elif event in ("ticket-stored", "error"):
            if event == "error":
                log.warning("socket error frame: %s", msg.get("error"))
        else:
            self._hand_on(self.on_event, msg)

    def receive(self, ticket: dict) -> None:
        """A pushed ticket: handed on if it is the next one; a gap before it starts a replay."""
        self._deliver(self.sequence.add(ticket))
        if self.sequence.waiting:
            self.catch_up()

    def _deliver(self, tickets: list[dict]) -> None:
        for ticket in tickets:
            self._hand_on(self.on_ticket, ticket)

    @staticmethod
    def _hand_on(to, item) -> None:
        try:
            to(item)
        except Exception:
            log.exception("handling %s failed", item.get("event") or item.get("kind"))

    def catch_up(self) -> asyncio.Task:
        """Replay what we missed; one replay at a time, and asking during one runs another
        after it."""
        if self._catching is not None:
            self._again = True
            return self._catching
        self._catching = asyncio.create_task(self._catch_up())
        return self._catching

    async def _catch_up(self) -> None:
        try:
            while True:
                self._again = False
                # page on from the highest id seen: past a gap, after=<last> returns the same page
                after = self.sequence.last
                while True:
                    start = after
                    page = await self.replay(pad(after) if after else None)
                    for ticket in page:
                        self._deliver(self.sequence.add(ticket))
                        after = max(after, int(ticket["id"]))
                    if len(page) < PAGE or after <= start:
                        break
                if self.sequence.waiting:
                    self._deliver(self.sequence.skip_stale_gap())
                    if self.sequence.waiting:
                        await asyncio.sleep(self.gap_retry)
                        self._again = True
                if not self._again or self.closed:
                    return
        except ApiError as err:
            self._fatal(err)
        except Exception:
            log.exception("replay failed")
        finally:
            self._catching = None

    def _fatal(self, err: ApiError) -> None:
        if not FATAL.match(err.code):
            log.info("replay failed: %s", err)
            return
        log.warning("no longer in the meeting: %s", err.code)
        if not self.closed:
            self._closing = asyncio.create_task(self.close())
        self.on_fatal(err.code)
