"""The playback clock: how far the stream has played, in seconds of its timeline.

It runs on time.monotonic() only while the stream plays and has media to play: a pause,
a seek that waits for its first frame, or a network stall holds it, so nothing is
skipped and the picture and the sound stay together. The decoding thread reads it (how
far ahead may I decode?), so its state is one tuple, replaced whole."""

import time


class Clock:
    def __init__(self, now=time.monotonic):
        self._now = now
        self._state: tuple[float, float | None] = (0.0, None)  # (timeline at, running since)

    @property
    def running(self) -> bool:
        return self._state[1] is not None

    def time(self) -> float:
        at, since = self._state
        return at if since is None else at + self._now() - since

    def run(self) -> None:
        at, since = self._state
        if since is None:
            self._state = (at, self._now())

    def hold(self) -> None:
        if self.running:
            self._state = (self.time(), None)

    def wall(self, t: float) -> float | None:
        """When (time.monotonic) the timeline reaches `t`; None while held."""
        at, since = self._state
        return None if since is None else since + t - at
