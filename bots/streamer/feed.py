"""Decoded media on its way from the decoding thread to the outgoing tracks.

Pictures and sound are placed on the clock's timeline; the tracks take what is due when
the clock says so. The thread decodes at most AHEAD seconds ahead of the clock, and what
the tracks did not take in time (nobody is connected yet, a slow peer) is dropped, so
memory stays bounded. A seek or a reopen flushes the feed: each flush starts a new
generation, and media of an older generation still arriving from a reader that was told
to stop is refused.
"""

import threading
from collections import deque

import numpy as np

RATE = 48_000  # what aiortc's Opus encoder takes: 48 kHz, s16, stereo
CHANNELS = 2
AHEAD = 1.0  # seconds the decoding thread may run ahead of the clock
KEEP = 0.5  # media this far behind the clock is dropped when no track took it
SLACK = 0.06  # sound this far off the clock is cut (late) or waited for (early)


class Feed:
    def __init__(self, clock):
        self.clock = clock
        self.generation = 0
        self.until = 0.0  # the timeline time up to which media has been handed in
        self._lock = threading.Lock()
        self._video: deque = deque()  # (t, av.VideoFrame)
        self._audio: deque = deque()  # [t, int16 array (n, 2)], consumed from the front

    # -- the decoding thread's side ----------------------------------------------------

    def flush(self, at: float) -> int:
        """Drop everything; media of the new generation starts at timeline `at`."""
        with self._lock:
            self.generation += 1
            self._video.clear()
            self._audio.clear()
            self.until = at
            return self.generation

    def room_for(self, t: float) -> bool:
        return t <= self.clock.time() + AHEAD

    def push_video(self, generation: int, t: float, frame, duration: float) -> bool:
        with self._lock:
            if generation != self.generation:
                return False
            self._video.append((t, frame))
            self.until = max(self.until, t + duration)
            self._trim_video(self.clock.time() - KEEP)
            return True

    def push_audio(self, generation: int, t: float, samples: np.ndarray) -> bool:
        with self._lock:
            if generation != self.generation:
                return False
            self._audio.append([t, samples])
            self.until = max(self.until, t + len(samples) / RATE)
            before = self.clock.time() - KEEP
            while self._audio and self._audio[0][0] + len(self._audio[0][1]) / RATE < before:
                self._audio.popleft()
            return True

    # -- the tracks' side --------------------------------------------------------------

    def take_video(self, now: float):
        """The newest picture due at timeline `now` (older ones are dropped), or None when
        none is due that was not taken already."""
        with self._lock:
            frame = None
            while self._video and self._video[0][0] <= now:
                frame = self._video.popleft()[1]
            return frame

    def next_video(self) -> float | None:
        """The timeline time of the next picture waiting, if any."""
        with self._lock:
            return self._video[0][0] if self._video else None

    def take_audio(self, now: float, count: int) -> np.ndarray | None:
        """`count` samples (count × 2, int16) of the sound due at timeline `now`, or None
        when nothing is due (silence). Sound that fell behind the clock is dropped, so
        picture and sound never drift apart; a short buffer is padded with silence."""
        with self._lock:
            audio = self._audio
            while audio and audio[0][0] + len(audio[0][1]) / RATE < now - SLACK:
                audio.popleft()
            if audio and audio[0][0] < now - SLACK:  # partly late: start at `now`
                late = int((now - audio[0][0]) * RATE)
                audio[0][1] = audio[0][1][late:]
                audio[0][0] += late / RATE
            if not audio or audio[0][0] > now + SLACK:
                return None
            out = np.zeros((count, CHANNELS), np.int16)
            filled = 0
            while audio and filled < count:
                t, samples = audio[0]
                n = min(count - filled, len(samples))
                out[filled:filled + n] = samples[:n]
                filled += n
                if n == len(samples):
                    audio.popleft()
                else:
                    audio[0] = [t + n / RATE, samples[n:]]
            return out

    def _trim_video(self, before: float) -> None:
        """Drop pictures older than `before`, keeping the newest of them (the one showing)."""
        while len(self._video) > 1 and self._video[1][0] <= before:
            self._video.popleft()
