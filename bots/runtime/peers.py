"""One aiortc RTCPeerConnection per remote participant, negotiated the way frontend/js/peer.js
negotiates: MDN's perfect negotiation (polite = the larger participant id), the newcomer
makes the first offer and the other side waits for it, one ticket handled at a time.

Where aiortc differs from a browser, the connection is replaced instead:
- it cannot roll back an offer, so the polite side that meets a colliding offer closes its
  connection and answers with a fresh one (the impolite side ignores the polite offer, so
  nobody ever answers the discarded one);
- it cannot restart ICE, so an offer that restarts ICE or comes from a new endpoint, and our
  own restart after a failure, also start on a fresh connection (browsers accept the new
  certificate that comes with it: a DTLS restart);
- it has no trickle: setLocalDescription gathers every candidate first, so our descriptions
  carry them all and we never send `candidates`; theirs arrive trickled and are added.
A replacement ends the old connection's tracks; `on_track` then gets the new ones.
"""

import asyncio
import logging
import math

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from .api import ApiError, new_key
from .ice import candidate_from_init, restarted, same_offer, ufrag

log = logging.getLogger("parley.bot")
KINDS = ("audio", "video")


class Peer:
    tick = 8.0  # the watchdog's period, as the page's
    wait_for_offer = 2.0  # the side that does not start waits this long for the offer
    collision_wait = 2.0  # a colliding offer waits at most this long for ours to be made

    def __init__(self, *, self_id: str, remote_id: str, ice_servers: list, send, starts=False,
                 receive=KINDS, tracks=lambda: [], on_track=None, on_state=None, on_stuck=None,
                 on_send_error=None):
        """send(kind, data, key) -> awaitable, retried by the caller with the same key;
        receive: the kinds we want from them; tracks() -> fresh tracks to send them (called
        again for a replaced connection); on_track(track) for each kind we receive;
        on_state(connectionState); on_stuck(): fetch tickets the socket may have missed;
        on_send_error(ApiError) for a ticket that could not be stored."""
        self.id = remote_id
        self.polite = self_id > remote_id
        self.starts = starts
        self.ice_servers, self.send, self.receive, self.tracks = ice_servers, send, receive, tracks
        self.on_track, self.on_state, self.on_stuck = on_track, on_state, on_stuck
        self.on_send_error = on_send_error
        self.making_offer = self.ignore_offer = self.closed = self.was_up = False
        self.rebuilds = 0  # connections replaced (a collision, a restart)
        self.ignored_offers = 0  # colliding offers this impolite side ignored
        self.restarted_at = -math.inf
        self._remote_offer: str | None = None  # the SDP of the last offer we answered
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._outbox = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._hold: asyncio.TimerHandle | None = None
        self._answer_watch: asyncio.Task | None = None
        self._watchdog: asyncio.Task | None = None
        self.pc = self._connection()
        self._reader = asyncio.create_task(self._read_inbox())
        self._watch()

    # -- the connection ------------------------------------------------------------------

    def _connection(self) -> RTCPeerConnection:
        """A fresh connection with our tracks and a transceiver for each kind, so that our
        first offer asks for both (answered by one answer) and a kind we do not want is
        inactive instead of decoded for nothing."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))
        for track in self.tracks():
            pc.addTrack(track)
        for kind in KINDS:
            if not any(t.kind == kind for t in pc.getTransceivers()):
                pc.addTransceiver(kind, direction="recvonly")
        self._quiet_unwanted(pc)
        pc.on("track", lambda track: self._track(pc, track))
        pc.on("connectionstatechange", lambda: self._state_changed(pc))
        return pc

    def _quiet_unwanted(self, pc: RTCPeerConnection) -> None:
        for t in pc.getTransceivers():
            if t.kind not in self.receive:
                t.direction = "sendonly" if t.sender.track is not None else "inactive"

    async def _rebuild(self) -> None:
        old = self.pc
        self.pc = self._connection()
        self.rebuilds += 1
        self.making_offer = self.ignore_offer = False
        self._remote_offer = None
        self._cancel(self._answer_watch)
        await old.close()

    def _track(self, pc, track) -> None:
        if pc is self.pc and not self.closed and track.kind in self.receive and self.on_track:
            self.on_track(track)

    def _state_changed(self, pc) -> None:
        if pc is not self.pc or self.closed:
            return
        state = pc.connectionState
        log.info("peer %s: %s", self.id, state)
        if self.on_state:
            self.on_state(state)
        if state == "connected":
            self.was_up = True
            self._cancel(self._watchdog)
        elif state == "failed":
            if self.was_up:  # it worked and broke: watch it again for a while
                self._watch()
            self.was_up = False
            self.restart()

    # -- offers ----------------------------------------------------------------------------

    async def offer(self) -> None:
        """Make and send the first offer of a connection, if we may: one at a time, from a
        stable state. The side that does not start holds it back for `wait_for_offer`
        seconds: the other's offer is on its way, and answering it is all it takes. Once a
        connection is negotiated there is nothing to offer (our tracks are set at its start)
        until a restart, which begins on a fresh connection."""
        pc = self.pc
        if (self.closed or self.making_offer or pc.signalingState != "stable"
                or pc.remoteDescription is not None):
            return
        if not self.starts and pc.remoteDescription is None:
            if self._hold is None:
                self._hold = asyncio.get_running_loop().call_later(self.wait_for_offer,
                                                                   self._hold_over)
            return
        self.making_offer = True
        try:
            await pc.setLocalDescription(await pc.createOffer())
        except Exception as err:  # closed meanwhile
            log.warning("peer %s: no offer: %r", self.id, err)
            return
        finally:
            self.making_offer = False
        if pc is not self.pc or self.closed or pc.signalingState != "have-local-offer":
            return  # replaced by their offer meanwhile
        await self._describe(pc)
        self._cancel(self._answer_watch)
        self._answer_watch = self._spawn(self._await_answer(pc, 3))

    def _hold_over(self) -> None:
        self._hold = None
        self.starts = True
        if not self.closed and self.pc.remoteDescription is None:
            self._spawn(self.offer())

    async def _await_answer(self, pc, times: int) -> None:
        """An offer must not wait for its answer for ever (a ticket lost?): each watchdog
        period, fetch missed tickets and send it again, up to `times` times."""
        for _ in range(times):
            await asyncio.sleep(self.tick)
            if self.closed or pc is not self.pc or pc.signalingState != "have-local-offer":
                return
            self._stuck()
            await self._describe(pc)

    def restart(self) -> None:
        """Start again on a fresh connection with a new offer: by the impolite side only (both
        at once would collide), at most once per watchdog period. The polite side waits for
        the other's restart offer."""
        loop = asyncio.get_running_loop()
        if self.closed or self.polite or loop.time() - self.restarted_at < self.tick - 0.5:
            return
        self.restarted_at = loop.time()
        self._inbox.put_nowait(("restart", None))

    async def _restart(self) -> None:
        log.info("peer %s: restarting on a new connection", self.id)
        await self._rebuild()
        self.starts = True
        await self.offer()

    # -- the watchdog ------------------------------------------------------------------------

    def _watch(self) -> None:
        """While not connected: every period, fetch missed tickets, and restart if the
        connection is negotiated but not trying; three times, then it stops."""
        if not self.closed and (self._watchdog is None or self._watchdog.done()):
            self._watchdog = self._spawn(self._watching())

    async def _watching(self) -> None:
        for _ in range(3):
            await asyncio.sleep(self.tick)
            pc = self.pc
            if pc.connectionState == "connected":
                return
            self._stuck()
            if (pc.signalingState == "stable" and pc.remoteDescription is not None
                    and pc.connectionState != "connecting"):
                self.restart()

    def _stuck(self) -> None:
        if self.on_stuck:
            self.on_stuck()

    # -- tickets in --------------------------------------------------------------------------

    def handle(self, ticket: dict) -> None:
        """A `description` or `candidates` ticket from them, handled after the ones before."""
        self._inbox.put_nowait((ticket["kind"], ticket.get("data")))

    async def settled(self) -> None:
        """Wait until every ticket handed in so far has been applied (tests, shutdown)."""
        await self._inbox.join()

    async def _read_inbox(self) -> None:
        while True:
            kind, data = await self._inbox.get()
            try:
                if self.closed:
                    pass
                elif kind == "restart":
                    await self._restart()
                elif kind == "description":
                    await self._description(data)
                elif kind == "candidates":
                    await self._candidates(data)
            except Exception as err:
                log.warning("peer %s: %s ticket failed: %r", self.id, kind, err)
            finally:
                self._inbox.task_done()

    async def _description(self, data: dict) -> None:
        desc = RTCSessionDescription(sdp=data["sdp"], type=data["type"])
        pc = self.pc
        if desc.type != "offer":
            if pc.signalingState == "have-local-offer":
                await pc.setRemoteDescription(desc)
            else:  # an answer to an offer we replaced, or a copy of one applied
                log.info("peer %s: answer in state %s ignored", self.id, pc.signalingState)
            return
        collision = self.making_offer or pc.signalingState != "stable"
        self.ignore_offer = not self.polite and collision
        if self.ignore_offer:
            self.ignored_offers += 1
            log.info("peer %s: their offer collides with ours; ours wins", self.id)
            return
        if collision:  # polite: theirs wins, and a fresh connection stands in for a rollback
            for _ in range(int(self.collision_wait / 0.02)):
                if not self.making_offer:
                    break
                await asyncio.sleep(0.02)
            log.info("peer %s: their offer collides with ours; theirs wins", self.id)
            await self._rebuild()
        elif pc.remoteDescription is not None and restarted(pc.remoteDescription.sdp, desc.sdp):
            log.info("peer %s: they restarted", self.id)
            await self._rebuild()
        elif pc.signalingState == "stable" and same_offer(self._remote_offer, desc.sdp):
            # sent again (its sender heard no answer in time), maybe with the candidates found
            # since, which were trickled to us as well: our answer once more
            await self._describe(pc)
            return
        pc = self.pc
        await pc.setRemoteDescription(desc)
        self._remote_offer = desc.sdp
        self._quiet_unwanted(pc)
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        await pc.setLocalDescription(await pc.createAnswer())
        if pc is self.pc:
            await self._describe(pc)

    async def _candidates(self, data: list) -> None:
        pc = self.pc
        if pc.remoteDescription is None:
            return  # for a description we ignored or replaced
        current = ufrag(pc.remoteDescription.sdp)
        for init in data or []:
            try:
                candidate = candidate_from_init(init)
            except ValueError as err:
                log.info("peer %s: %s", self.id, err)
                continue
            if candidate is None:
                continue  # end-of-candidates: a later restart may bring more, so not marked
            if init.get("usernameFragment") and current and init["usernameFragment"] != current:
                continue  # of an earlier ICE session
            try:
                await pc.addIceCandidate(candidate)
            except Exception as err:
                if not self.ignore_offer:
                    log.info("peer %s: candidate refused: %r", self.id, err)

    # -- tickets out -------------------------------------------------------------------------

    async def _describe(self, pc) -> None:
        local = pc.localDescription
        if local is not None:
            await self.post("description", {"type": local.type, "sdp": local.sdp})

    async def post(self, kind: str, data) -> None:
        """Send a ticket after the ones before it; the key makes every retry of it one ticket."""
        key = new_key()
        async with self._outbox:
            if self.closed and kind != "bye":
                return
            try:
                await self.send(kind, data, key)
            except ApiError as err:
                if self.on_send_error:
                    self.on_send_error(err)
                else:
                    log.warning("peer %s: %s ticket not stored: %s", self.id, kind, err)

    # -- the end -----------------------------------------------------------------------------

    async def close(self, bye: bool = False) -> None:
        """Close the connection; with `bye`, tell them first (the caller bounds the wait)."""
        if self.closed:
            return
        self.closed = True
        if self._hold is not None:
            self._hold.cancel()
        for task in (*self._tasks, self._reader):
            task.cancel()
        try:
            if bye:
                await self.post("bye", None)
        finally:
            await self.pc.close()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    def _cancel(task) -> None:
        if task is not None:
            task.cancel()
