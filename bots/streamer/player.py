"""Playing one source into the streamer's two tracks: start (at a position, or at the
live edge), pause, resume, seek, loop, and an end.

Every start, seek, loop and retry is a new reading of the source (decoder.py) placed on
the one playback timeline. A watch every 50 ms keeps the clock honest: it holds the
clock while the feed has nothing to play (a stall, a seek's first frame) and runs it
again once a little is buffered; a reading that breaks off, or a clock held too long,
is retried from where playback stands (live: from the live edge) a few times with a
growing pause, and then the player fails with the last reason. It never waits forever.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

from .clock import Clock
from .decoder import Decoder, Reading
from .feed import Feed
from .source import SourceError, Timeouts, open_container
from .tracks import StreamAudio, StreamVideo

log = logging.getLogger("parley.streamer")


class PlaybackError(Exception):
    """The source cannot be played; the message is the reason for the host."""


@dataclass(frozen=True)
class Timing:
    start: float = 7.0  # a source must give its first media within this
    stall: float = 8.0  # the clock held this long for want of media is a stall
    retries: tuple[float, ...] = (1.0, 2.0, 4.0)  # the pause before each retry; then fail
    healthy: float = 20.0  # playing this long again forgives the retries before
    preroll: float = 0.3  # media buffered before a held clock runs again
    timeouts: Timeouts = Timeouts()


class Player:
    WATCH = 0.05

    def __init__(self, *, live: bool = False, loop: bool = False, timing: Timing = Timing(),
                 opener=open_container):
        self.live, self.loop, self.timing, self.opener = live, loop, timing, opener
        self.clock = Clock()
        self.feed = Feed(self.clock)
        self.audio, self.video = StreamAudio(self.feed), StreamVideo(self.feed)
        self.state = "idle"  # idle | playing | paused | ended | failed | closed
        self.error: str | None = None
        self.duration: float | None = None
        self.retried = 0  # retries since playback was last healthy
        self.readings = 0  # readings of the source started (start, seeks, loops, retries)
        self.url: str | None = None
        self._decoder: Decoder | None = None
        self._segments: list[tuple[float, float]] = [(0.0, 0.0)]  # (timeline, media) starts
        self._held_since: float | None = None  # the clock is held for want of media
        self._healthy_since = 0.0
        self._retrying = False
        self._watch: asyncio.Task | None = None
        self._over: asyncio.Event | None = None

    # -- control ---------------------------------------------------------------------------

    @property
    def seekable(self) -> bool:
        return not self.live and self.duration is not None

    async def start(self, url: str, position: float = 0.0, paused: bool = False) -> None:
        """Open `url` and play from `position` (file mode), or paused there; PlaybackError
        when no media came within `timing.start` seconds."""
        self.url, self._over = url, asyncio.Event()
        position = 0.0 if self.live else max(0.0, position)
        self._segments = [(0.0, position)]
        decoder = self._read(position, 0.0, self.feed.flush(0.0))
        deadline = time.monotonic() + self.timing.start
        while decoder.frames == 0 and not decoder.done:
            if time.monotonic() > deadline:
                decoder.stop()
                raise PlaybackError(f"no picture or sound came from the source within "
                                    f"{self.timing.start:g} s")
            await asyncio.sleep(0.02)
        if decoder.error:
            raise PlaybackError(decoder.error)
        self.duration = decoder.duration
        if self.duration is not None and position >= self.duration:  # resumed at its very end
            decoder.stop()
            position = 0.0 if self.loop else max(0.0, self.duration - 1.0)
            self._segments = [(0.0, position)]
            self._read(position, 0.0, self.feed.flush(0.0))
        self.state = "paused" if paused else "playing"
        self._healthy_since = time.monotonic()
        self._watch = asyncio.ensure_future(self._watching())

    def position(self) -> float:
        """Seconds into the file (file mode), or seconds played (live)."""
        now = self.clock.time()
        timeline, media = next((s for s in reversed(self._segments) if s[0] <= now), self._segments[0])
        position = media + max(0.0, now - timeline)
        return min(position, self.duration) if self.duration is not None else position

    def pause(self) -> bool:
        if self.state != "playing" or self.live:
            return False
        self.state = "paused"
        self.clock.hold()
        self._held_since = None
        return True

    def resume(self) -> bool:
        if self.state != "paused":
            return False
        self.state = "playing"  # the watch runs the clock once media is there
        self._healthy_since = time.monotonic()
        return True

    def seek(self, position: float) -> bool:
        if self.state not in ("playing", "paused") or not self.seekable:
            return False
        position = min(max(0.0, position), max(0.0, self.duration - 0.5))
        self._reopen(position)
        return True

    async def finished(self) -> str:
        """Wait until playback is over: `ended` or `failed`."""
        await self._over.wait()
        return self.state

    async def close(self) -> None:
        """Stop reading and end both tracks (for good: the bot is leaving)."""
        self.audio.stop()
        self.video.stop()
        if self._watch is not None:
            self._watch.cancel()
        if self._decoder is not None:
            self._decoder.stop()
        self.clock.hold()
        if self.state not in ("ended", "failed"):
            self.state = "closed"
        if self._over is not None:
            self._over.set()

    # -- readings ---------------------------------------------------------------------------

    def _read(self, start: float, timeline: float, generation: int) -> Decoder:
        if self._decoder is not None:
            self._decoder.stop()
        self.readings += 1
        self._decoder = Decoder(self.url, self.feed, Reading(start, timeline, generation),
                                live=self.live, timeouts=self.timing.timeouts,
                                opener=self.opener).start()
        return self._decoder

    def _reopen(self, position: float) -> None:
        """Read again from `position` (media time; live: the live edge, counting on from
        `position` seconds played), starting now on the timeline."""
        now = self.clock.time()
        self.clock.hold()
        self._segments.append((now, position))
        self._read(0.0 if self.live else position, now, self.feed.flush(now))
        self._held_since = time.monotonic() if self.state == "playing" else None

    # -- the watch ---------------------------------------------------------------------------

    async def _watching(self) -> None:
        try:
            while self.state in ("playing", "paused"):
                self._tick()
                await asyncio.sleep(self.WATCH)
        except Exception as err:  # a bug must not leave the bot in the meeting for ever
            log.exception("the player's watch failed")
            self._fail(f"internal error: {err}")

    def _tick(self) -> None:
        decoder, now = self._decoder, time.monotonic()
        if self._retrying:
            return
        if decoder.error:
            self._retry(decoder.error)
            return
        if decoder.eof and self.loop and decoder.reading.generation == self.feed.generation:
            self._loop_after(decoder)
            decoder = self._decoder
        if self.state != "playing":
            return
        t = self.clock.time()
        if decoder.eof and t >= self.feed.until - 1e-3:
            self._end()
        elif self.clock.running and t >= self.feed.until:
            self.clock.hold()  # nothing to play: wait for it (a seek, a slow source)
            self._held_since = now
        elif not self.clock.running and (self.feed.until >= t + self.timing.preroll or decoder.eof):
            self.clock.run()
            self._held_since = None
        if self._held_since is not None and now - self._held_since > self.timing.stall:
            self._retry(f"no media came from the source for {self.timing.stall:g} s")
        elif self.clock.running and self.retried and now - self._healthy_since > self.timing.healthy:
            self.retried = 0

    def _loop_after(self, decoder: Decoder) -> None:
        """The file ended and loops: read it again from 0, placed right after its end, so
        the next lap is buffered before this one runs out."""
        if decoder.frames == 0:
            self._fail("nothing in the source could be decoded")
            return
        end = self.feed.until
        self._segments.append((end, 0.0))
        self._read(0.0, end, self.feed.generation)

    def _retry(self, reason: str) -> None:
        if self.retried >= len(self.timing.retries):
            self._fail(reason)
            return
        pause = self.timing.retries[self.retried]
        self.retried += 1
        log.warning("source trouble (%s); reading it again in %g s, retry %d of %d", reason,
                    pause, self.retried, len(self.timing.retries))
        position = self.position()
        self._decoder.stop()
        self.clock.hold()
        self._retrying = True
        self._held_since = None

        def again():
            self._retrying = False
            if self.state in ("playing", "paused"):
                self._reopen(position)
                self._healthy_since = time.monotonic()
        asyncio.get_running_loop().call_later(pause, again)

    def _end(self) -> None:
        log.info("the source ended at %.1f s", self.position())
        self.state = "ended"
        self.clock.hold()
        self._over.set()

    def _fail(self, reason: str) -> None:
        log.error("playback failed: %s", reason)
        self.state, self.error = "failed", reason
        if self._decoder is not None:
            self._decoder.stop()
        self.clock.hold()
        self._over.set()


__all__ = ["PlaybackError", "Player", "SourceError", "Timing"]
