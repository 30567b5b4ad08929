"""One reading of a source: a thread that opens it, decodes from a starting point and
hands pictures and sound to the feed on the playback timeline.

FFmpeg blocks (network reads, decoding), so it runs off the event loop, one daemon
thread per reading: a reading that is abandoned (a seek, a retry, the bot leaving) is
told to stop and never waited for; anything it still hands in is refused by the feed.

Pictures become yuv420p no larger than 1280×720 (what the encoders want; larger
sources are scaled down, keeping their shape) and no more than 30 a second; sound
becomes 48 kHz stereo s16 (what aiortc's Opus encoder takes as it is).
"""

import logging
import threading
import time
from dataclasses import dataclass

import av
import numpy as np

from .feed import CHANNELS, RATE, Feed
from .source import SourceError, Timeouts, describe, open_container

log = logging.getLogger("parley.streamer")
MAX_SIZE = (1280, 720)
MIN_GAP = 1 / 30 - 0.002  # pictures closer than this to the last one are skipped
MAX_BAD_PACKETS = 50  # packets in a row that do not decode: the source is broken
JUMP = 10.0  # a live source's timestamps jumping this far are a discontinuity


def fit(width: int, height: int, box=MAX_SIZE) -> tuple[int, int]:
    """The picture size sent: the source's, or scaled down into `box`; even numbers."""
    scale = min(1.0, box[0] / width, box[1] / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


@dataclass(frozen=True)
class Reading:
    """Where a reading starts: at media time `start` (seconds into the file; 0 for live),
    placed at `timeline` on the playback clock's timeline."""

    start: float
    timeline: float
    generation: int


class Decoder:
    def __init__(self, url: str, feed: Feed, reading: Reading, *, live: bool,
                 timeouts: Timeouts | None = None, opener=open_container):
        self.url, self.feed, self.reading, self.live = url, feed, reading, live
        self.timeouts, self.opener = timeouts or Timeouts(), opener
        self.opened = threading.Event()  # set once open (or failed)
        self.duration: float | None = None  # seconds, when the source knows it
        self.has_video = self.has_audio = False
        self.frames = 0  # frames handed to the feed
        self.eof = False  # the source ended and everything was handed in
        self.error: str | None = None  # why the reading ended early
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._run, name="streamer-decoder", daemon=True)

    def start(self) -> "Decoder":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop soon (between two reads); never waits."""
        self._quit.set()

    @property
    def stopped(self) -> bool:
        return self._quit.is_set()

    @property
    def done(self) -> bool:
        return self.eof or self.error is not None

    # -- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        container = None
        try:
            container = self.opener(self.url, self.live, self.timeouts)
            self._read(container)
        except SourceError as err:
            self.error = str(err)
        except Exception as err:  # the opener words its own errors; these came later
            self.error = describe(err, timeout=self.timeouts.read)
        finally:
            self.opened.set()
            if container is not None:
                try:
                    container.close()
                except Exception:  # noqa: S110 (closing a broken source: nothing to tell)
                    pass
        if self.error and not self.stopped:
            log.info("reading from %.1f s ended: %s", self.reading.start, self.error)

    def _read(self, container) -> None:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        self.has_video, self.has_audio = video is not None, audio is not None
        if container.duration and not self.live:
            self.duration = container.duration / av.time_base
        if video is not None:
            video.thread_type = "AUTO"
        self.opened.set()
        if self.reading.start > 0:
            container.seek(int(self.reading.start * av.time_base), backward=True)
        origin = None if self.live else (container.start_time or 0) / av.time_base
        resampler = av.AudioResampler(format="s16", layout="stereo", rate=RATE)
        cursor = None  # media time of the next resampled sample
        last_picture = None
        latest = None  # live: the latest media time seen, to notice a discontinuity
        bad = 0
        streams = [s for s in (video, audio) if s is not None]
        for packet in container.demux(*streams):
            if self._quit.is_set():
                return
            try:
                frames = packet.decode()
            except av.FFmpegError as err:
                bad += 1
                if bad >= MAX_BAD_PACKETS:
                    raise SourceError(f"{bad} packets in a row could not be decoded: "
                                      f"{describe(err)}") from None
                continue
            bad = 0
            for frame in frames:
                if frame.time is None:
                    continue
                if origin is None:
                    origin = frame.time
                media = frame.time - origin
                if self.live:
                    if latest is not None and abs(media - latest) > JUMP:
                        origin, media = frame.time - latest, latest  # carry on from here
                    latest = media if latest is None else max(latest, media)
                if isinstance(frame, av.VideoFrame):
                    if media < self.reading.start - 1e-3:
                        continue  # before the seek's target: decoded only to get there
                    t = self._timeline(media)
                    if last_picture is None:  # the picture at the start shows at once (paused too)
                        t = min(t, self.reading.timeline)
                    elif t - last_picture < MIN_GAP:
                        continue
                    if not self._wait_for_room(t):
                        return
                    width, height = fit(frame.width, frame.height)
                    picture = frame.reformat(width=width, height=height, format="yuv420p")
                    # the source's keyframes are not ours: an I here would make every
                    # encoder send a keyframe (libvpx and x264 obey it)
                    picture.pict_type = av.video.frame.PictureType.NONE
                    rate = video.average_rate
                    step = 1 / float(rate) if rate else 1 / 30
                    if not self.feed.push_video(self.reading.generation, t, picture, step):
                        return
                    last_picture = t
                    self.frames += 1
                else:
                    if cursor is None or abs(media - cursor) > 0.1:
                        cursor = media
                    for out in resampler.resample(frame):
                        samples = out.to_ndarray().reshape(-1, CHANNELS)
                        at, cursor = cursor, cursor + len(samples) / RATE
                        if at < self.reading.start:  # before the seek's target: cut
                            cut = int((self.reading.start - at) * RATE)
                            samples, at = samples[cut:], at + cut / RATE
                        if not len(samples):
                            continue
                        t = self._timeline(at)
                        if not self._wait_for_room(t):
                            return
                        samples = np.ascontiguousarray(samples)
                        if not self.feed.push_audio(self.reading.generation, t, samples):
                            return
                        self.frames += 1
        if self.frames == 0:
            raise SourceError("nothing in the source could be decoded")
        self.eof = True

    def _timeline(self, media: float) -> float:
        return self.reading.timeline + media - self.reading.start

    def _wait_for_room(self, t: float) -> bool:
        """Block until `t` is no further ahead of the clock than the feed allows; False when
        this reading was stopped or superseded meanwhile."""
        while not self.feed.room_for(t):
            if self._quit.is_set() or self.feed.generation != self.reading.generation:
                return False
            time.sleep(0.02)
        return not self._quit.is_set()
