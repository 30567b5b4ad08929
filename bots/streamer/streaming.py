"""One stream from the bot's first look at it to its last report, apart from how the bot
talks to the meeting (so it runs, and is tested, without one).

start: read the stream (source URL, saved position, state); open a file at the saved
position (a restarted bot always; a new stream with `resume`: where the server says an
earlier one stopped), paused if it was paused; a live source at its live edge; then
report `playing` (or `paused`) with the duration, or `failed` with a reason.
Then, until the stream is over: the position every ~2 s, and the host's requests
(`requested` {action: pause | resume | seek | stop} of a `stream-updated` event or of
a report's answer; each acted on once) carried out and reported.
finish: the last report, once: `ended` (the end of the file, a stop, the meeting
ended, only bots left, a signal) or `failed`. The exit code is 1 only for `failed`.
"""

import asyncio
import logging
from collections.abc import Callable

from bots.runtime import ApiError

from .options import StreamOptions
from .player import PlaybackError, Player

log = logging.getLogger("parley.streamer")
PROGRESS_EVERY = 2.0
REFRESH_EVERY = 1800.0  # an upload's sourceUrl is a presigned GET valid 6 h: read it again
ERROR_MAX = 500  # the API's limit on `error`
OVER = (403, 404, 409, 410)  # a report refused for these: the stream is over for the server
STOP = {"action": "stop"}


class Streaming:
    def __init__(self, api, stream_id: str, options: StreamOptions, player: Player, *,
                 progress_every: float = PROGRESS_EVERY, refresh_every: float = REFRESH_EVERY,
                 first: dict | None = None):
        """api: get() -> stream, report(body, retry=False) -> stream (stream_api.StreamApi);
        first: the stream as already read (the bot's early start), used instead of a get()."""
        self.api, self.id, self.options, self.player = api, stream_id, options, player
        self.progress_every, self.refresh_every = progress_every, refresh_every
        self.outcome: str | None = None  # ended | stopped | failed
        self.error: str | None = None
        self.reported: str | None = None  # the last state the server took from us
        self.reports: list[dict] = []  # every report the server took, in order
        self._handled_at = None  # `at` of the last request acted on
        self._requests: asyncio.Queue = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._final: asyncio.Future | None = None
        self._first = first

    # -- the bot's side ------------------------------------------------------------------

    def start(self, on_over: Callable[[], None] = lambda: None) -> None:
        """Run the stream in a task of its own; `on_over()` when it is over by itself."""
        self._task = asyncio.ensure_future(self._run())
        self._task.add_done_callback(lambda task: task.cancelled() or on_over())

    def request(self, stream: dict) -> None:
        """A stream as the server sent it (an event, a report's answer): a new request of
        ours to act on, or `stopping`. Never waits: acted on by the stream's task."""
        if not isinstance(stream, dict) or stream.get("id") != self.id:
            return
        if stream.get("state") == "stopping":
            self._requests.put_nowait(STOP)
            return
        req = stream.get("requested")
        if isinstance(req, dict) and req.get("at") and req["at"] != self._handled_at:
            self._handled_at = req["at"]
            self._requests.put_nowait(req)

    async def finish(self, reason: str) -> int:
        """The bot is leaving (`reason`): stop playing, make the last report (once); the
        exit code."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.outcome is None:
            self.outcome = "stopped"
            log.info("stream stopped: %s", reason)
        await self._last_report()
        await self.player.close()
        return 1 if self.outcome == "failed" else 0

    # -- the stream's task ------------------------------------------------------------------

    async def _run(self) -> None:
        stream, self._first = self._first, None
        try:
            stream = stream or await self.api.get()
        except ApiError as err:
            self._failed(f"the stream could not be read: {err.code}")
            return
        state = stream.get("state")
        if state in ("ended", "failed"):  # over already: nothing to play or report
            self.outcome, self.reported = "stopped", state
            return
        if state == "stopping":
            self.outcome = "stopped"
            await self._last_report()
            return
        url = stream.get("sourceUrl")
        if not url:
            await self._fail("the stream has no source URL")
            return
        # A bot before this one played it (then it always goes on from the saved position);
        # or a new stream, which the server may start where an earlier one of the same
        # source stopped (its `position`), unless asked not to resume.
        restarted = state in ("playing", "paused")
        resume = not self.options.live and (restarted or self.options.resume)
        position = float(stream.get("position") or 0) if resume else 0.0
        paused = restarted and state == "paused"
        pending = stream.get("requested")
        if restarted and isinstance(pending, dict):
            self._handled_at = pending.get("at")  # the earlier bot's business
        log.info("playing %s from %.1f s%s", "live" if self.options.live else "a file", position,
                 ", paused" if paused else "")
        try:
            await self.player.start(url, position, paused=paused)
        except PlaybackError as err:
            await self._fail(str(err))
            return
        if not await self._report({"state": self.player.state, "position": self._position(),
                                   "duration": self.player.duration}):
            return
        if not restarted:
            self.request(stream)  # asked for while it started
        helpers = [asyncio.ensure_future(self._progress()), asyncio.ensure_future(self._refresh())]
        try:
            await self._obey()
        finally:
            for task in helpers:
                task.cancel()

    async def _obey(self) -> None:
        """Requests, one at a time, until playback is over or a stop."""
        over, asked = asyncio.ensure_future(self.player.finished()), None
        try:
            while True:
                asked = asyncio.ensure_future(self._requests.get())
                await asyncio.wait({over, asked}, return_when=asyncio.FIRST_COMPLETED)
                if not asked.done():
                    break
                if not await self._carry_out(asked.result()):
                    break
        finally:
            over.cancel()
            if asked is not None:
                asked.cancel()
        if self.player.state == "failed":
            await self._fail(self.player.error or "playback failed")
        elif self.player.state == "ended":
            self.outcome = "ended"
            await self._last_report()

    async def _carry_out(self, req: dict) -> bool:
        """Do what the host asked and report it; False for a stop."""
        action, player = req.get("action"), self.player
        if action == "stop":
            self.outcome = "stopped"
            await self._last_report()
            return False
        if action == "pause" and player.pause():
            return await self._report({"state": "paused", "position": self._position()})
        if action == "resume" and player.resume():
            return await self._report({"state": "playing", "position": self._position()})
        if action == "seek" and isinstance(req.get("position"), int | float) and player.seek(req["position"]):
            log.info("seek to %.1f s", req["position"])
            return await self._report({"position": self._position()})
        log.info("request %s not carried out (%s, %s)", action, player.state,
                 "live" if self.options.live else "file")
        return True

    async def _progress(self) -> None:
        last = None
        while True:
            await asyncio.sleep(self.progress_every)
            position = self._position()
            if self.player.state not in ("playing", "paused") or position == last:
                continue
            if not await self._report({"position": position}):
                return
            last = position

    async def _refresh(self) -> None:
        """Read the stream again now and then: a presigned source URL expires, and every
        later reading (a loop's next lap, a retry, a seek) must use a fresh one."""
        while True:
            await asyncio.sleep(self.refresh_every)
            try:
                stream = await self.api.get()
            except ApiError as err:
                log.info("reading the stream again failed: %s", err)
                continue
            if stream.get("sourceUrl"):
                self.player.url = stream["sourceUrl"]
            self.request(stream)

    # -- reports -------------------------------------------------------------------------------

    def _position(self) -> float:
        return round(self.player.position(), 2)

    async def _report(self, body: dict, retry: bool = False) -> bool:
        """PATCH the stream; False when the server says it is over for us (the bot then
        leaves). Other failures are logged: the media goes on."""
        try:
            stream = await self.api.report(body, retry=retry)
        except ApiError as err:
            if err.status in OVER:
                log.warning("report %s refused (%s): the stream is over", body, err)
                if self.outcome is None:
                    self.outcome = "stopped"
                self._requests.put_nowait(STOP)
                return False
            log.warning("report %s not taken: %s", body, err)
            return True
        self.reports.append(body)
        if "state" in body:
            self.reported = body["state"]
        self.request(stream)  # a request the socket may have missed; or stopping
        return True

    async def _fail(self, reason: str) -> None:
        self._failed(reason)
        await self._last_report()

    def _failed(self, reason: str) -> None:
        log.error("stream failed: %s", reason)
        self.outcome, self.error = "failed", reason[:ERROR_MAX]

    async def _last_report(self) -> None:
        """`ended` or `failed`, once, whoever asks first (the stream's task, the bot)."""
        if self._final is None:
            self._final = asyncio.ensure_future(self._send_last())
        await asyncio.shield(self._final)

    async def _send_last(self) -> None:
        if self.reported in ("ended", "failed"):
            return
        if self.outcome == "failed":
            body = {"state": "failed", "error": self.error or "playback failed"}
        else:
            body = {"state": "ended"}
        if self.player.state != "idle":
            body["position"] = self._position()
        try:
            await self.api.report(body, retry=True)
            self.reports.append(body)
            self.reported = body["state"]
        except ApiError as err:
            log.warning("last report %s not taken: %s", body, err)
