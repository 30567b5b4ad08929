"""The streamer's camera and microphone: two aiortc tracks that live as long as the bot.

The runtime fixes a connection's tracks when it starts, so these never end or change:
what they carry does. Each paces itself on the wall clock and takes from the feed what
the playback clock says is due; with nothing due (paused, waiting for a seek or a
stalled source) the picture holds its last frame and the sound is silence. Timestamps
come from the wall clock, never from the media, so they run on smoothly through a
pause, a seek, a loop or a reopened source.
"""

import asyncio
import time
from fractions import Fraction

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .feed import CHANNELS, RATE, Feed

PTIME = 0.02  # 20 ms of sound per frame, as aiortc's own audio tracks
SAMPLES = int(RATE * PTIME)
VIDEO_CLOCK = 90_000
MIN_INTERVAL = 1 / 30 - 0.003  # at most ~30 pictures a second
HOLD_INTERVAL = 0.2  # a held picture is sent again this often (a new peer needs pictures)
POLL = 0.05  # the longest a track sleeps without looking at the feed again
BEHIND = 0.5  # sound this late (the loop was busy) skips ahead instead of bursting


def black(width: int = 640, height: int = 360) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane, value in zip(frame.planes, (16, 128, 128), strict=True):
        plane.update(bytes([value]) * plane.buffer_size)
    return frame


def copy(frame: av.VideoFrame) -> av.VideoFrame:
    """A new frame with the same picture: a frame handed to the encoders (one per peer, on
    executor threads) must not have its timestamp changed under them."""
    return av.VideoFrame.from_ndarray(frame.to_ndarray(format="yuv420p"), format="yuv420p")


class StreamVideo(MediaStreamTrack):
    kind = "video"

    def __init__(self, feed: Feed):
        super().__init__()
        self.feed = feed
        self.last = black()  # until the first picture (and for a source without pictures)
        self.sent = 0
        self._t0: float | None = None
        self._sent_at = -1e9
        self._pts = -1

    async def recv(self) -> av.VideoFrame:
        clock = self.feed.clock
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            now = time.monotonic()
            frame = None
            if now - self._sent_at >= MIN_INTERVAL:
                frame = self.feed.take_video(clock.time())
                if frame is not None:
                    self.last = frame
                elif now - self._sent_at >= HOLD_INTERVAL:
                    frame = copy(self.last)
            if frame is not None:
                break
            await asyncio.sleep(self._pause(now))
        if self._t0 is None:
            self._t0 = now
        self._sent_at = now
        self._pts = max(self._pts + 1, int((now - self._t0) * VIDEO_CLOCK))
        frame.pts, frame.time_base = self._pts, Fraction(1, VIDEO_CLOCK)
        self.sent += 1
        return frame

    def _pause(self, now: float) -> float:
        """How long to sleep: until the next picture is due, the next hold, or POLL."""
        wake = min(self._sent_at + HOLD_INTERVAL, now + POLL)
        upcoming = self.feed.next_video()
        due = self.feed.clock.wall(upcoming) if upcoming is not None else None
        if due is not None:
            wake = min(wake, max(due, self._sent_at + MIN_INTERVAL))
        return max(0.002, wake - now)


class StreamAudio(MediaStreamTrack):
    kind = "audio"

    def __init__(self, feed: Feed):
        super().__init__()
        self.feed = feed
        self.sent = 0
        self.sounding = 0  # frames that carried sound rather than silence
        self._t0: float | None = None
        self._silence = np.zeros((SAMPLES, CHANNELS), np.int16)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        else:
            wait = self._t0 + self.sent * PTIME - now
            if wait < -BEHIND:  # start the pacing again from now
                self._t0 = now - self.sent * PTIME
            elif wait > 0:
                await asyncio.sleep(wait)
        if self.readyState != "live":
            raise MediaStreamError
        clock = self.feed.clock
        samples = self.feed.take_audio(clock.time(), SAMPLES) if clock.running else None
        if samples is None:
            samples = self._silence
        else:
            self.sounding += 1
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = RATE
        frame.pts, frame.time_base = self.sent * SAMPLES, Fraction(1, RATE)
        self.sent += 1
        return frame
