"""The mix on one real-time clock.

Every 1/fps seconds the clock takes one tick: a chunk of audio (each present place's
buffered samples, summed with clipping; silence from a place with nothing) and, in the
video modes, the grid (each place's newest frame, repeated while no new one comes; a
reserved leaver's last frame). Ticks go to the Output thread, which composes, encodes and
muxes them. Tick numbers are the file's timestamps, so the file's length is the wall time
the recording ran.

Never more than 2 s behind: the Output writes a late tick without its picture and drops
one that is later still (output.py). Memory stays bounded: per source one frame and half
a second of audio, and the clock drops a tick rather than queue more than MAX_QUEUED
seconds of them (an encoder that stopped altogether).
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bots.recorder.compose import Compositor, Tile
from bots.recorder.layout import cells
from bots.recorder.output import Output, Tick
from bots.recorder.places import Places
from bots.recorder.sources import Source
from bots.recorder.writer import Writer

log = logging.getLogger(__name__)

FPS = 15
SIZE = (1280, 720)
RATE = 48_000
MAX_QUEUED = 2.0  # seconds of ticks waiting for the Output


@dataclass
class Result:
    path: Path | None       # the finished file, if any
    error: str | None       # what went wrong, if anything
    seconds: float          # wall time recorded
    ticks: int              # ticks taken
    dropped: int            # ticks dropped because the encoder was too far behind
    skipped_pictures: int   # ticks written without their picture for the same reason
    max_lag: float          # seconds, the furthest behind real time a tick was written


class Mixer:
    def __init__(self, mode: str, directory: Path, reserve: bool = True, limit: int = 6,
                 fps: int = FPS, size: tuple[int, int] = SIZE, rate: int = RATE):
        self.fps, self.size, self.rate = fps, size, rate
        self.chunk = rate // fps
        self.places = Places(reserve=reserve, limit=limit)
        self.writer = Writer(mode, directory, fps, size, rate, self.chunk)
        self.output = Output(self.writer, Compositor(*size) if self.writer.has_video else None)
        self.sources: dict[str, Source] = {}
        self._clock: asyncio.Task | None = None
        self._running = False
        self._started = 0.0
        self._ticks = self._dropped = 0

    # -- who is in the mix --------------------------------------------------------------
    def enter(self, pid: str) -> None:
        """`pid` entered the meeting (call in the order people entered)."""
        self._source(pid)
        self.places.enter(pid)
        self._refresh()

    def attach(self, pid: str, track) -> None:
        """A track (audio or video) from `pid`; someone unknown so far enters first."""
        if pid not in self.sources:
            self.enter(pid)
        self._source(pid).attach(track)
        self.places.enter(pid)  # a reserved leaver who is back has their place again
        self._refresh()

    def leave(self, pid: str) -> None:
        """`pid` left the meeting."""
        promoted = self.places.leave(pid)
        if self.places.place_of(pid) is None and pid in self.sources:
            source = self.sources.pop(pid)
            asyncio.ensure_future(source.close())
        if promoted:
            log.info("%s left; %s now in the mix", pid, ", ".join(promoted))
        self._refresh()

    def order(self) -> list[str]:
        """The pids in places, in grid order."""
        return self.places.order()

    def _source(self, pid: str) -> Source:
        if pid not in self.sources:
            self.sources[pid] = Source(pid, self.rate, self.chunk)
        return self.sources[pid]

    def _refresh(self) -> None:
        """What each source keeps: the newest picture while its owner is here, audio only
        from a present participant in a place, nothing once the recording is finishing."""
        for pid, source in self.sources.items():
            place = self.places.place_of(pid)
            present = place.present if place else pid in self.places.waiting
            source.see = self._running and present and self.writer.has_video
            source.set_hear(self._running and bool(place and place.present)
                            and self.writer.has_audio)

    # -- the clock -----------------------------------------------------------------------
    async def start(self) -> None:
        self.output.start()
        self._running = True
        self._refresh()
        self._started = time.monotonic()
        self._clock = asyncio.ensure_future(self._run())

    async def stop(self) -> Result:
        """Stop the clock and finish the file; the sources keep draining their tracks
        (and keep nothing) until close()."""
        self._running = False
        self._refresh()
        seconds = time.monotonic() - self._started if self._started else 0.0
        if self._clock:
            self._clock.cancel()
            await asyncio.gather(self._clock, return_exceptions=True)
        if self._started:
            path = await asyncio.to_thread(self.output.close)
        else:  # never started: no file worth keeping
            path = None
            try:
                await asyncio.to_thread(self.writer.close)
            except Exception:  # an empty container may refuse to finish; it goes anyway
                log.debug("closing an unused writer", exc_info=True)
            self.writer.path.unlink(missing_ok=True)
        error = self.output.error
        return Result(path, f"{type(error).__name__}: {error}" if error else None, seconds,
                      self._ticks, self._dropped + self.output.dropped,
                      self.output.skipped_pictures, self.output.max_lag)

    async def close(self) -> None:
        """Stop reading every track."""
        sources = list(self.sources.values())
        self.sources.clear()
        await asyncio.gather(*(s.close() for s in sources))

    async def _run(self) -> None:
        index = 0
        while True:
            now = time.monotonic()
            due = int((now - self._started) * self.fps)
            if index > due:
                await asyncio.sleep(self._started + index / self.fps - now)
                continue
            # more than one tick after the loop was held up: they share one picture
            tiles = self._tiles() if self.writer.has_video else None
            for i in range(index, due + 1):
                self._tick(i, tiles)
            index = due + 1

    def _tick(self, index: int, tiles: list[Tile] | None) -> None:
        self._ticks += 1
        audio = self._mix() if self.writer.has_audio else None
        if (index - 1 - self.output.done) / self.fps > MAX_QUEUED:
            self._dropped += 1
            return
        self.output.put(Tick(index, self._started + index / self.fps, tiles, audio))

    def _tiles(self) -> list[Tile]:
        order = self.places.order()
        tiles = []
        for pid, cell in zip(order, cells(len(order), *self.size), strict=True):
            source = self.sources.get(pid)
            frame = source.video if source else None
            tiles.append(Tile(cell, pid, source.video_seq if source else 0, frame))
        return tiles

    def _mix(self) -> np.ndarray:
        chunks = []
        for pid in self.places.order():
            source = self.sources.get(pid)
            samples = source.audio.pull(self.chunk) if source and source.hear else None
            if samples is not None:
                chunks.append(samples)
        return mix(chunks, self.chunk)


def mix(chunks: list[np.ndarray], count: int) -> np.ndarray:
    """int16 chunks summed, clipped to int16 (a loud moment saturates instead of wrapping
    round to the opposite sign); silence when there are none."""
    total = np.zeros(count, np.int32)
    for chunk in chunks:
        total += chunk
    return np.clip(total, -32768, 32767).astype(np.int16)
