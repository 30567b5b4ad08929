"""Fixtures and readers for the streamer's tests: the numbered test clip served over
HTTP, what a streamer's tracks send read back as frame numbers and sound, and a guest
bot that reads the frame numbers of what it receives over WebRTC."""

import asyncio
import time

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from bots.runtime import Bot
from harness.clips import FPS, TONE, frame_number_of, write_clip

from .streams import served

CLIP_SECONDS = 6.0


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory):
    """clip.mp4 (6 s, 640×360, numbered pictures, a tone) and corrupt.mp4 (random bytes)."""
    folder = tmp_path_factory.mktemp("streamer-media")
    write_clip(folder / "clip.mp4", CLIP_SECONDS)
    rng = np.random.default_rng(19)
    (folder / "corrupt.mp4").write_bytes(rng.integers(0, 256, 200_000, np.uint8).tobytes())
    return folder


@pytest.fixture(scope="session")
def media_url(clip_dir):
    """The clip folder's base URL."""
    with served(clip_dir) as base:
        yield base


def seconds_of(number: int) -> float:
    return number / FPS


class Watch:
    """Reads a streamer's tracks as a peer's sender would: every picture's frame number
    (None for a picture without one, like the first black one) with the time it came,
    and every sound frame's samples."""

    def __init__(self, player):
        self.player = player
        self.pictures: list[tuple[float, int | None]] = []
        self.sound: list[np.ndarray] = []
        self._tasks = [asyncio.ensure_future(self._video()), asyncio.ensure_future(self._audio())]

    async def _video(self):
        try:
            while True:
                frame = await self.player.video.recv()
                self.pictures.append((time.monotonic(), frame_number_of(frame)))
        except MediaStreamError:
            pass

    async def _audio(self):
        try:
            while True:
                frame = await self.player.audio.recv()
                self.sound.append(frame.to_ndarray().reshape(-1, 2)[:, 0])
        except MediaStreamError:
            pass

    def numbers(self, since: float = 0.0) -> list[int]:
        return [n for at, n in self.pictures if at >= since and n is not None]

    def first_number(self, since: float) -> int | None:
        return next(iter(self.numbers(since)), None)

    async def until(self, check, what: str, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while not (value := check()):
            assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
            await asyncio.sleep(0.05)
        return value

    def close(self):
        for task in self._tasks:
            task.cancel()


def tone_level(samples: np.ndarray, frequency: float = TONE, rate: int = 48_000) -> float:
    """The amplitude (0..1 of full scale) of `frequency` in `samples` (int16)."""
    if len(samples) < rate // 10:
        return 0.0
    x = samples.astype(np.float64) / 32768
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) / (len(x) / 4)
    bin_ = int(round(frequency * len(x) / rate))
    return float(spectrum[max(0, bin_ - 2):bin_ + 3].max())


class Viewer(Bot):
    """A guest that decodes what it is sent: (time, track number, frame number) of every
    picture, tracks numbered in the order they came."""

    display_name = "Viewer"

    def __init__(self, config):
        super().__init__(config)
        self.pictures: list[tuple[float, int, int | None]] = []
        self.tracks = 0

    async def on_track(self, pid, track):
        if track.kind != "video":
            return await super().on_track(pid, track)
        self.tracks += 1
        number = self.tracks
        try:
            while True:
                frame = await track.recv()
                self.pictures.append((time.monotonic(), number, frame_number_of(frame)))
        except MediaStreamError:  # the track ended
            pass

    def numbers(self, track: int | None = None) -> list[int]:
        return [n for _, t, n in self.pictures if n is not None and track in (None, t)]
