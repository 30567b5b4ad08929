"""One source's samples between the network and the mix.

Packets arrive in bursts and the mix takes a fixed chunk per tick, so a source starts
playing only once `start` samples are buffered, and again after it runs dry (a short gap
of silence instead of a click every tick). It never holds more than `cap` samples: a
sender whose clock runs a little fast, or a burst after a stall, is trimmed back to
`start`, so latency and memory stay bounded.
"""

from collections import deque

import numpy as np


class AudioBuffer:
    def __init__(self, start: int, cap: int):
        assert 0 < start < cap
        self.start, self.cap = start, cap
        self._chunks: deque[np.ndarray] = deque()
        self._size = 0
        self._playing = False
        self.trimmed = 0  # samples dropped by the cap, for the record

    def __len__(self) -> int:
        return self._size

    def push(self, samples: np.ndarray) -> None:
        if not len(samples):
            return
        self._chunks.append(samples)
        self._size += len(samples)
        if self._size > self.cap:
            self._drop(self._size - self.start)

    def pull(self, count: int) -> np.ndarray | None:
        """The next `count` samples, zero-padded if the buffer runs dry; None while it is
        (re)filling, which the mix treats as silence."""
        if not self._playing:
            if self._size < self.start:
                return None
            self._playing = True
        out = np.zeros(count, np.int16)
        filled = 0
        while filled < count and self._chunks:
            chunk = self._chunks[0]
            take = min(count - filled, len(chunk))
            out[filled:filled + take] = chunk[:take]
            filled += take
            self._consume(take)
        if filled < count:
            self._playing = False
        return out

    def clear(self) -> None:
        self._chunks.clear()
        self._size = 0
        self._playing = False

    def _drop(self, count: int) -> None:
        self.trimmed += count
        while count:
            take = min(count, len(self._chunks[0]))
            self._consume(take)
            count -= take

    def _consume(self, count: int) -> None:
        chunk = self._chunks[0]
        if count == len(chunk):
            self._chunks.popleft()
        else:
            self._chunks[0] = chunk[count:]
        self._size -= count
