"""The mixer's second half, on a thread of its own: compose each tick's grid, encode and
mux it. Encoding is the expensive part, and the event loop that receives everyone's media
must never wait for it.

Never more than 2 s behind real time: a tick taken off the queue more than SOFT_LAG after
its time is written without its picture (audio is cheap to encode, so the thread catches
up), and one more than HARD_LAG late is dropped. What is written is therefore never
later than HARD_LAG plus one tick's encoding. The clock reads `done` to keep the queue
itself short (see mixer.py).
"""

import logging
import queue
import threading
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bots.recorder.compose import Compositor, Tile
from bots.recorder.writer import Writer

log = logging.getLogger(__name__)

SOFT_LAG = 1.0   # seconds late: written without the picture
HARD_LAG = 1.5   # seconds late: dropped


class Tick(NamedTuple):
    index: int
    due: float                  # time.monotonic() when its time came
    tiles: list[Tile] | None    # None: no picture for this tick
    audio: np.ndarray | None


_END = object()


class Output:
    def __init__(self, writer: Writer, compositor: Compositor | None):
        self.writer, self.compositor = writer, compositor
        self.done = -1          # index of the last tick taken off the queue
        self.max_lag = 0.0      # seconds between a tick's due time and its write
        self.dropped = 0        # ticks dropped for being too late
        self.skipped_pictures = 0  # ticks written without their picture for the same reason
        self.error: BaseException | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="recorder-output", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, tick: Tick) -> None:
        self._queue.put(tick)

    def close(self) -> Path | None:
        """Write what is queued and finish the file (blocking). After an error the file is
        still finished if it can be, so what was recorded before it is kept; `error` says
        what happened. None when there is no file to keep."""
        self._queue.put(_END)
        self._thread.join()
        try:
            return self.writer.close()
        except Exception as err:
            log.exception("finishing %s failed", self.writer.path)
            self.error = self.error or err
            return self.writer.path if self.writer.path.exists() else None

    def _run(self) -> None:
        while (tick := self._queue.get()) is not _END:
            if self.error:
                continue  # keep draining so close() returns; the error is raised there
            try:
                self._write(tick)
            except Exception as err:
                log.exception("writing tick %d failed", tick.index)
                self.error = err

    def _write(self, tick: Tick) -> None:
        late = time.monotonic() - tick.due
        if late > HARD_LAG:
            self.dropped += 1
        else:
            if tick.tiles is not None and self.compositor:
                if late > SOFT_LAG:
                    self.skipped_pictures += 1
                else:
                    self.writer.write_video(tick.index, self.compositor.compose(tick.tiles))
            if tick.audio is not None:
                self.writer.write_audio(tick.index, tick.audio)
            self.max_lag = max(self.max_lag, time.monotonic() - tick.due)
        self.done = tick.index
