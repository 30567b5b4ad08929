"""Media whose position can be read back from any decoded picture, for the streamer's
tests and benchmark.

Every picture carries its frame number as a row of 14 blocks across the top sixth: a
white guard, 12 bits (most significant first, white = 1) and a black guard, big enough
to survive scaling and a low-bitrate VP8 encode; a bar also moves across the bottom
half. The sound is a steady tone. `frame_number` reads the number back from a luma
plane of any size; in a page, LEVELS_JS measures a <video> for `number_from_levels`.
"""

import threading
import time
from pathlib import Path

import av
import numpy as np

FPS = 30
BITS = 12
CELLS = BITS + 2  # guard, bits, guard
TONE = 440.0


def picture(n: int, width: int = 640, height: int = 360) -> av.VideoFrame:
    """Frame `n` in yuv420p."""
    luma = np.full((height, width), 90, np.uint8)
    band, cell = height // 6, width // CELLS
    bits = [1] + [(n >> (BITS - 1 - k)) & 1 for k in range(BITS)] + [0]
    for k, bit in enumerate(bits):
        luma[:band, k * cell:(k + 1) * cell] = 235 if bit else 16
    bar = (n * 8) % width
    luma[height // 2:, bar:bar + max(2, width // 40)] = 200
    chroma = np.full((height // 2, width), 128, np.uint8)  # two quarter planes, neutral
    return av.VideoFrame.from_ndarray(np.concatenate([luma, chroma]), format="yuv420p")


def frame_number(luma: np.ndarray) -> int | None:
    """The frame number in a luma plane (height × width), or None when the guards are not
    where they belong (not one of these pictures, or a broken one)."""
    height, width = luma.shape[:2]
    band, cell = height / 6, width / CELLS
    rows = slice(int(band * 0.25), int(band * 0.75))
    return number_from_levels([luma[rows, int((k + 0.3) * cell):int((k + 0.7) * cell)].mean()
                               for k in range(CELLS)])


def number_from_levels(levels) -> int | None:
    """The frame number from the mean brightness (0..255) of each block's middle."""
    bits = [level > 128 for level in levels]
    if len(bits) != CELLS or not bits[0] or bits[-1]:
        return None
    return sum(1 << (BITS - 1 - k) for k, bit in enumerate(bits[1:-1]) if bit)


# The same middles measured in a page, from a <video> drawn on a canvas.
LEVELS_JS = f"""video => {{
  if (!video || !video.videoWidth) return null;
  const w = video.videoWidth, h = video.videoHeight, band = h / 6, cell = w / {CELLS};
  const canvas = document.createElement('canvas');
  canvas.width = w; canvas.height = Math.ceil(band);
  const g = canvas.getContext('2d', {{willReadFrequently: true}});
  g.drawImage(video, 0, 0, w, h, 0, 0, w, h);
  const y0 = Math.floor(band * 0.25), y1 = Math.floor(band * 0.75);
  const levels = [];
  for (let k = 0; k < {CELLS}; k++) {{
    const x0 = Math.floor((k + 0.3) * cell), x1 = Math.floor((k + 0.7) * cell);
    const d = g.getImageData(x0, y0, x1 - x0, y1 - y0).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    levels.push(sum / (d.length / 4));
  }}
  return levels;
}}"""


def frame_number_of(frame: av.VideoFrame) -> int | None:
    return frame_number(frame.to_ndarray(format="gray"))


def tone(start: int, count: int, rate: int = 48_000) -> av.AudioFrame:
    """`count` samples of the tone from sample `start`, mono float."""
    t = (start + np.arange(count)) / rate
    samples = (0.3 * np.sin(2 * np.pi * TONE * t)).astype(np.float32).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
    frame.sample_rate, frame.pts = rate, start
    return frame


class _Writer:
    """Frames and the tone into an open output container, H.264 + AAC."""

    def __init__(self, output, size, fps, options=None):
        self.output, self.size, self.fps = output, size, fps
        self.video = output.add_stream("libx264", rate=fps)
        self.video.width, self.video.height = size
        self.video.pix_fmt = "yuv420p"
        self.video.options = {"preset": "ultrafast", "g": str(fps), **(options or {})}
        self.audio = output.add_stream("aac", rate=48_000)
        self.audio.layout = "mono"
        self.samples = 0

    def write(self, n: int, frame: av.VideoFrame | None = None) -> None:
        frame = frame or picture(n, *self.size)
        frame.pts = n
        for packet in self.video.encode(frame):
            self.output.mux(packet)
        upto = (n + 1) * 48_000 // self.fps
        while self.samples < upto:
            for packet in self.audio.encode(tone(self.samples, 1024)):
                self.output.mux(packet)
            self.samples += 1024

    def close(self) -> None:
        for stream in (self.video, self.audio):
            for packet in stream.encode():
                self.output.mux(packet)
        self.output.close()


def write_clip(path: Path, seconds: float = 6.0, size=(640, 360), fps: int = FPS, frames=None) -> Path:
    """An MP4 (index first, keyframe every second) of `seconds`; `frames(n)` gives the
    pictures (default: the numbered ones)."""
    writer = _Writer(av.open(str(path), "w", options={"movflags": "+faststart"}), size, fps)
    for n in range(int(seconds * fps)):
        writer.write(n, frames(n) if frames else None)
    writer.close()
    return path


class LiveHls:
    """A live HLS stream written into `directory` in real time (PyAV's HLS muxer: 1 s
    segments, all of them listed), numbered frames from 0 when it starts; stops (and ends
    the playlist) on exit."""

    def __init__(self, directory: Path, size=(640, 360), fps: int = FPS, segment: float = 1.0):
        self.directory, self.size, self.fps = Path(directory), size, fps
        self.playlist = self.directory / "live.m3u8"
        self.frame = 0  # the next frame to write
        self.started_at: float | None = None
        self._segment = segment
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hls-live", daemon=True)

    def __enter__(self) -> "LiveHls":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        output = av.open(str(self.playlist), "w", format="hls",
                         options={"hls_time": f"{self._segment:g}", "hls_list_size": "0"})
        writer = _Writer(output, self.size, self.fps, {"tune": "zerolatency"})
        self.started_at = time.monotonic()
        while not self._stop.is_set():
            wait = self.started_at + self.frame / self.fps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            writer.write(self.frame)
            self.frame += 1
        writer.close()
