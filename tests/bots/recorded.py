"""Reading a recorder's output back with PyAV: pictures as RGB arrays with their times,
audio as one mono float array, and what is in them (the colour of a tile, the strength
of a tone)."""

from pathlib import Path

import av
import numpy as np

from bots.recorder.layout import cells, fit

# the synthetic participants: a colour and a tone each, all told apart easily
COLORS = [(220, 30, 30), (30, 200, 30), (30, 30, 220), (220, 220, 30), (30, 200, 200),
          (200, 30, 200), (240, 140, 0)]
TONES = [300, 450, 600, 750, 900, 1050, 1200]
CANVAS = (1280, 720)
SOURCE = (640, 480)


def pictures(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as container:
        return [(frame.time, frame.to_ndarray(format="rgb24"))
                for frame in container.decode(video=0)]


def sound(path: Path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=stream.rate)
        parts = [out.to_ndarray()[0] for frame in container.decode(audio=0)
                 for out in resampler.resample(frame)]
        return np.concatenate(parts), stream.rate


def tone_level(samples: np.ndarray, rate: int, frequency: float) -> float:
    """Amplitude (full scale 1.0) of `frequency` in `samples`, from a windowed FFT."""
    window = np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(samples * window)) / (window.sum() / 2)
    bin_ = round(frequency * len(samples) / rate)
    return float(spectrum[max(0, bin_ - 2):bin_ + 3].max())


def segment(samples: np.ndarray, rate: int, start: float, end: float) -> np.ndarray:
    return samples[int(start * rate):int(end * rate)]


def tile(picture: np.ndarray, count: int, index: int) -> np.ndarray:
    """The pixels of place `index` in a grid of `count` (a 640x480 source fitted in)."""
    rect = fit(cells(count, *CANVAS)[index], *SOURCE)
    return picture[rect.y + 4:rect.y + rect.height - 4, rect.x + 4:rect.x + rect.width - 4]


def color_of(pixels: np.ndarray) -> int | None:
    """Which participant's colour `pixels` mostly are (median, so the moving white bar
    does not count); None for black or grey (nobody's picture)."""
    median = np.median(pixels.reshape(-1, 3), axis=0)
    distances = [np.abs(median - np.array(c)).sum() for c in COLORS]
    best = int(np.argmin(distances))
    return best if distances[best] < 90 else None


def layout_of(picture: np.ndarray, count: int) -> list[int | None]:
    return [color_of(tile(picture, count, i)) for i in range(count)]


def at(pics: list[tuple[float, np.ndarray]], time: float) -> np.ndarray:
    """The picture shown at `time` (the last one that started at or before it)."""
    return [p for t, p in pics if t <= time][-1]
