"""One participant's media as the mixer sees it: the newest video frame, and audio
resampled to the mix's format in an AudioBuffer.

A reader task per track always drains it: aiortc queues received frames without limit
until someone calls recv(), so a track nobody reads (a participant waiting for a place, a
leaver whose place is reserved, a recording that is finishing) would grow without bound.
What is kept of the frames is up to the two switches `see` and `hear`.
"""

import asyncio
import logging

import av
import av.error
from aiortc.mediastreams import MediaStreamError

from bots.recorder.audiobuffer import AudioBuffer

log = logging.getLogger(__name__)


class Source:
    def __init__(self, pid: str, rate: int, chunk: int):
        self.pid = pid
        self.rate = rate
        self.see = True    # keep the newest video frame
        self.hear = False  # resample and buffer audio
        self.video: av.VideoFrame | None = None
        self.video_seq = 0  # bumped with every kept frame, so a scaled copy can be reused
        # start after one chunk and a packet of slack; hold at most half a second
        self.audio = AudioBuffer(start=chunk + rate // 50, cap=max(rate // 2, 2 * chunk))
        self._readers: dict[str, asyncio.Task] = {}
        self._resampler: av.AudioResampler | None = None

    def attach(self, track) -> None:
        """Read `track` from now on, instead of an earlier track of the same kind."""
        old = self._readers.pop(track.kind, None)
        if old:
            old.cancel()
        if track.kind == "audio":
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=self.rate)
            self.audio.clear()
        self._readers[track.kind] = asyncio.ensure_future(self._read(track))

    def set_hear(self, hear: bool) -> None:
        if self.hear and not hear:
            self.audio.clear()
        self.hear = hear

    async def close(self) -> None:
        readers = list(self._readers.values())
        self._readers.clear()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    async def _read(self, track) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                log.info("%s track of %s ended", track.kind, self.pid)
                return
            try:
                self._take(frame)
            except (av.error.FFmpegError, ValueError) as err:  # one bad frame is not the end
                log.warning("dropped a %s frame of %s: %s", track.kind, self.pid, err)
                if track.kind == "audio":  # a resampler set up for another input format
                    self._resampler = av.AudioResampler(format="s16", layout="mono", rate=self.rate)

    def _take(self, frame) -> None:
        if isinstance(frame, av.VideoFrame):
            if self.see:
                self.video = frame
                self.video_seq += 1
        elif isinstance(frame, av.AudioFrame) and self.hear and self._resampler:
            for out in self._resampler.resample(frame):
                self.audio.push(out.to_ndarray()[0])
