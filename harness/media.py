"""Synthetic aiortc tracks for the recorder's tests and benchmark: what a remote
participant's decoded media looks like to a bot (av frames from `await track.recv()`,
paced in real time, with pts), with content that can be recognised in the output.

- ToneTrack: a sine tone, 20 ms frames of packed s16 stereo at 48 kHz (what aiortc's Opus
  decoder hands out);
- ColorTrack: yuv420p frames of one solid colour with a white bar that moves across the
  picture, so consecutive frames differ (easy to tell apart in a test);
- FramesTrack: any frames in a loop, e.g. pattern_frames(), FFmpeg's testsrc2 (moving
  colours, gradients and text: closer to what a camera costs an encoder).
All end like a remote track: stop() makes recv() raise MediaStreamError.
"""

import asyncio
import time
from fractions import Fraction

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


class _Paced(MediaStreamTrack):
    def __init__(self, per_second: float):
        super().__init__()
        self._period = 1 / per_second
        self._start: float | None = None
        self.sent = 0

    async def _next(self) -> None:
        if self.readyState == "ended":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.sent * self._period - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if self.readyState == "ended":
            raise MediaStreamError
        self.sent += 1


class ToneTrack(_Paced):
    kind = "audio"

    def __init__(self, frequency: float, amplitude: int = 6000, rate: int = 48_000):
        super().__init__(50)
        self.frequency, self.amplitude, self.rate = frequency, amplitude, rate

    async def recv(self) -> av.AudioFrame:
        await self._next()
        samples = self.rate // 50
        start = (self.sent - 1) * samples
        t = (start + np.arange(samples)) / self.rate
        mono = (self.amplitude * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16",
                                           layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = self.rate, start, Fraction(1, self.rate)
        return frame


def color_frames(rgb: tuple[int, int, int], size=(640, 480), count: int = 16) -> list[av.VideoFrame]:
    """`count` yuv420p frames of `rgb` with a white bar at `count` places across."""
    width, height = size
    frames = []
    for i in range(count):
        image = np.empty((height, width, 3), np.uint8)
        image[:] = rgb
        bar = i * width // count
        image[:, bar:bar + width // 32] = 255
        frames.append(av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p"))
    return frames


def pattern_frames(size=(640, 480), count: int = 30) -> list[av.VideoFrame]:
    """`count` frames (a second at 30 fps) of FFmpeg's testsrc2 test pattern."""
    width, height = size
    source = f"testsrc2=size={width}x{height}:rate=30:duration={count / 30}"
    with av.open(source, format="lavfi") as container:
        return [f.reformat(format="yuv420p") for f in container.decode(video=0)][:count]


class FramesTrack(_Paced):
    """Loops over frames made once (so the sender costs next to nothing), from `offset`;
    each recv() hands out a new frame object, as a decoder does."""

    kind = "video"

    def __init__(self, frames: list[av.VideoFrame], fps: int = 30, offset: int = 0):
        super().__init__(fps)
        self._frames, self._offset = frames, offset

    async def recv(self) -> av.VideoFrame:
        await self._next()
        source = self._frames[(self._offset + self.sent - 1) % len(self._frames)]
        frame = av.VideoFrame(source.width, source.height, "yuv420p")
        for mine, theirs in zip(frame.planes, source.planes, strict=True):
            mine.update(bytes(theirs))
        frame.pts, frame.time_base = (self.sent - 1) * 3000, Fraction(1, 90_000)
        return frame


class ColorTrack(FramesTrack):
    def __init__(self, rgb: tuple[int, int, int], size=(640, 480), fps: int = 30):
        super().__init__(color_frames(rgb, size), fps)
