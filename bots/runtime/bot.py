"""A bot's life in a meeting: join, keep the socket, hold a peer connection with every person
(not with other bots), leave cleanly. Subclasses (the recorder, a streamer) override the
`on_*` hooks and never touch signaling; frontend/js/room.js is the page's counterpart."""

import asyncio
import logging
import signal

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

from .api import Api, ApiError
from .config import BotConfig
from .ice import ice_servers
from .idle import IdleTimer
from .peers import KINDS, Peer
from .signaling import FATAL, Signaling

log = logging.getLogger("parley.bot")
BYE_WAIT = 1.5  # leaving waits this long at most for the bye tickets, as the page does
STOP_REASONS = ("stopped", "meeting-ended", "removed", "idle", "signal")


def is_bot(participant: dict) -> bool:
    return participant.get("role") == "bot"


class Bot:
    display_name = "Bot"  # the join name when the config has none
    receive_audio = True  # recvonly transceivers on every peer...
    receive_video = True  # ...for the kinds wanted; the others are negotiated inactive

    def __init__(self, config: BotConfig):
        self.config = config
        self.api = Api(config.api_url)
        self.outgoing_tracks: list = []  # tracks sent to everyone (a streamer's)
        self.participants: dict[str, dict] = {}  # everyone else present, in joined order
        self.peers: dict[str, Peer] = {}
        self.me: str | None = None
        self.join_response: dict | None = None
        self.signaling: Signaling | None = None
        self.stop_reason: str | None = None
        self.exit_code = 0  # what run() returns; a subclass sets it (a failed upload)
        self._gone: set[str] = set()  # left for good: a reload joins with a new id
        self._stopping: asyncio.Event | None = None
        self._events: asyncio.Queue | None = None
        self._tasks: set[asyncio.Task] = set()
        self._relay = MediaRelay()
        self._opened_before = False
        self._idle: IdleTimer | None = None

    # -- hooks for subclasses ---------------------------------------------------------------

    async def on_joined(self, join: dict) -> None:
        """The join response, before any peer exists."""

    async def on_track(self, pid: str, track) -> None:
        """A track from participant `pid`; called again when their connection is replaced
        (the old track then ends). The default reads and drops its frames: aiortc queues
        decoded frames without bound until someone reads them."""
        try:
            while True:
                await track.recv()
        except MediaStreamError:
            pass

    async def on_peer_left(self, pid: str, reason: str) -> None:
        """A person we had a peer with is gone: left / removed / timeout."""

    async def on_event(self, event: dict) -> None:
        """Every socket event other than tickets, after the runtime handled it."""

    async def on_stop(self, reason: str) -> None:
        """The bot is stopping (one of STOP_REASONS); it is still in the meeting, its peers
        still open. Set `exit_code` here to report a failure."""

    # -- life ---------------------------------------------------------------------------------

    def stop(self, reason: str = "stopped") -> None:
        """Ask the bot to finish; the first reason given wins."""
        if self.stop_reason is None:
            log.info("stopping: %s", reason)
            self.stop_reason = reason
        if self._stopping is not None:
            self._stopping.set()

    async def run(self, joined: dict | None = None) -> int:
        """Join (`joined`: the answer of a join already made with this bot's `api`),
        negotiate with everyone until asked to stop, leave; the exit code."""
        self._stopping = asyncio.Event()
        self._events = asyncio.Queue()
        if self.stop_reason:
            self._stopping.set()
        handled = self._handle_signals()
        try:
            try:
                join = await self._join(joined)
            except ApiError as err:
                log.error("could not join meeting %s: %s", self.config.meeting, err)
                return 1
            try:
                await self._enter(join)
                await self._stopping.wait()
            finally:  # whatever went wrong, the meeting must not keep a dead participant
                await self._leave()
            return self.exit_code
        finally:
            for sig in handled:
                asyncio.get_running_loop().remove_signal_handler(sig)
            for task in list(self._tasks):
                task.cancel()
            await self.api.close()

    def _handle_signals(self) -> list:
        """SIGTERM (ECS stopping the task, the local launcher) and Ctrl-C stop the bot cleanly.
        Only the main thread can take signals; a bot run elsewhere (a test) skips this."""
        loop, handled = asyncio.get_running_loop(), []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.stop, "signal")
                handled.append(sig)
            except (RuntimeError, ValueError, NotImplementedError):
                pass
        return handled

    async def _join(self, join: dict | None = None) -> dict:
        if join is None:
            name = self.config.name or self.display_name
            join = await self.api.join(self.config.meeting, name, self.config.token)
        if join.get("waiting"):  # a guest join into a lobby
            self.api.token = join.get("token")
            await self._leave_quietly()
            raise ApiError(202, "participant_waiting",
                           "the meeting's lobby holds guests; a bot joins with a bot token")
        return join

    async def _enter(self, join: dict) -> None:
        self.join_response = join
        self.me = join["participant"]["id"]
        self.api.token = join["token"]
        log.info("joined meeting %s as %s (%s)", self.config.meeting, self.me,
                 join["participant"].get("role"))
        for p in join.get("participants") or []:
            if p.get("id") != self.me and p.get("state", "active") == "active":
                self._set(p)
        self._idle = IdleTimer(self.config.idle_seconds, lambda: self.stop("idle"))
        try:
            await self.on_joined(join)
        except Exception:
            log.exception("on_joined failed")
            self.exit_code = 1
            self.stop("stopped")
            return
        self._spawn(self._dispatch())
        self.signaling = Signaling(
            join["wsUrl"], join["token"],
            lambda after: self.api.tickets(self.config.meeting, after),
            on_ticket=lambda t: self._events.put_nowait(("ticket", t)),
            on_event=lambda e: self._events.put_nowait(("event", e)),
            on_status=lambda s: self._events.put_nowait(("status", s)),
            on_fatal=self._fatal)
        self.signaling.start()
        # The newcomer offers to everyone already here, at once; they wait for our offer.
        for pid, p in list(self.participants.items()):
            if not is_bot(p):
                self._peer(pid, starts=True)
        self._idle.update(self.people_present())

    async def _leave(self) -> None:
        reason = self.stop_reason or "stopped"
        try:
            await self.on_stop(reason)
        except Exception:
            log.exception("on_stop failed")
            self.exit_code = self.exit_code or 1
        if self._idle is not None:
            self._idle.cancel()
        peers = list(self.peers.values())
        if reason not in ("meeting-ended", "removed") and peers:
            byes = asyncio.gather(*(p.post("bye", None) for p in peers), return_exceptions=True)
            try:
                await asyncio.wait_for(byes, BYE_WAIT)
            except TimeoutError:
                log.info("not every bye was sent in time")
        await self._leave_quietly()
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
        self.peers.clear()
        if self.signaling is not None:
            await self.signaling.close()
        log.info("left meeting %s (%s)", self.config.meeting, reason)

    async def _leave_quietly(self) -> None:
        if not self.api.token:
            return
        try:
            await self.api.leave(self.config.meeting)
        except ApiError as err:  # already gone: removed, ended, timed out
            log.info("leave: %s", err.code)

    def _fatal(self, code: str) -> None:
        self.stop("meeting-ended" if code.startswith("meeting_") else "removed")

    # -- who is here --------------------------------------------------------------------------

    def people_present(self) -> bool:
        return any(not is_bot(p) for p in self.participants.values())

    def _set(self, p: dict) -> None:
        known = self.participants.get(p["id"])
        self.participants[p["id"]] = {**(known or {}), **p}
        if known is None:  # keep joined order, whatever order we heard of them in
            ordered = sorted(self.participants.values(), key=lambda x: x.get("joinedAt") or "~")
            self.participants = {x["id"]: x for x in ordered}

    def _peer(self, pid: str, starts: bool = False) -> Peer:
        if pid in self.peers:
            return self.peers[pid]
        if pid not in self.participants:  # a ticket before the event that announces them
            self._set({"id": pid})
        receive = tuple(k for k in KINDS if getattr(self, f"receive_{k}"))
        peer = Peer(
            self_id=self.me, remote_id=pid, ice_servers=ice_servers(self.join_response.get("iceServers")),
            starts=starts, receive=receive,
            tracks=lambda: [self._relay.subscribe(t, buffered=False) for t in self.outgoing_tracks],
            send=lambda kind, data, key: self.api.post_ticket(
                self.config.meeting, pid, kind, data, key, stop=lambda: self.peers.get(pid) is not peer),
            on_track=lambda track: self._spawn(self._track(pid, track)),
            on_stuck=lambda: self.signaling and self.signaling.catch_up(),
            on_send_error=lambda err: self._send_failed(pid, err))
        self.peers[pid] = peer
        self._spawn(peer.offer())  # at once if we start, else after waiting for theirs
        return peer

    async def _track(self, pid: str, track) -> None:
        try:
            await self.on_track(pid, track)
        except Exception:
            log.exception("on_track failed for %s", pid)

    def _send_failed(self, pid: str, err: ApiError) -> None:
        if err.code == "participant_not_found":  # they left before it was stored
            self._spawn(self._drop(pid, "left"))
        elif FATAL.match(err.code):  # we are the one who is gone
            self._fatal(err.code)
        elif self.stop_reason is None:
            log.warning("ticket to %s not stored: %s", pid, err)

    async def _drop(self, pid: str, reason: str) -> None:
        if pid == self.me or pid in self._gone:
            return
        self._gone.add(pid)
        self.participants.pop(pid, None)
        peer = self.peers.pop(pid, None)
        if self._idle is not None:
            self._idle.update(self.people_present())
        if peer is not None:
            await peer.close()
            try:
                await self.on_peer_left(pid, reason)
            except Exception:
                log.exception("on_peer_left failed")

    # -- what the socket brings ---------------------------------------------------------------

    async def _dispatch(self) -> None:
        """Tickets, events and socket status, one at a time in the order they came."""
        while True:
            kind, item = await self._events.get()
            try:
                if self.stop_reason is not None:
                    continue
                if kind == "ticket":
                    await self._ticket(item)
                elif kind == "event":
                    await self._event(item)
                elif item == "open":
                    if self._opened_before:  # events pushed while it was down are lost
                        self._spawn(self._resync())
                    self._opened_before = True
            except Exception:
                log.exception("handling %s failed", kind)

    async def _ticket(self, ticket: dict) -> None:
        sender = ticket.get("from")
        if not sender or sender in self._gone or sender == self.me:
            return
        if ticket.get("kind") == "bye":
            await self._drop(sender, "left")
        else:
            self._peer(sender).handle(ticket)

    async def _event(self, ev: dict) -> None:
        name, p = ev.get("event"), ev.get("participant")
        pid = p.get("id") if isinstance(p, dict) else None
        if pid is not None and pid != self.me and pid not in self._gone:
            if name in ("participant-joined", "participant-updated"):
                if p.get("state", "active") != "active":  # an update may say they are gone
                    await self._drop(pid, p["state"])
                else:
                    self._set(p)
                    if not is_bot(self.participants[pid]):
                        self._peer(pid)
                    self._idle.update(self.people_present())
            elif name == "participant-left":
                await self._drop(pid, ev.get("reason") or p.get("state") or "left")
        if name == "meeting-ended":
            self.stop("meeting-ended")
        elif name == "removed":
            self.stop("removed")
        try:
            await self.on_event(ev)
        except Exception:
            log.exception("on_event failed")

    async def _resync(self) -> None:
        """After a reconnect: re-read who is here (joins and leaves pushed meanwhile are not
        replayed; their tickets are)."""
        try:
            present = await self.api.participants(self.config.meeting)
        except ApiError as err:
            log.info("resync: %s", err)
            return
        here = {p["id"] for p in present}
        for pid in [pid for pid in self.participants if pid not in here]:
            await self._drop(pid, "left")
        for p in present:
            if p["id"] != self.me and p["id"] not in self._gone:
                self._set(p)
                if not is_bot(self.participants[p["id"]]):
                    self._peer(p["id"])
        self._idle.update(self.people_present())

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
