"""The video grid: each place's picture scaled into its cell and pasted into one yuv420p
canvas. Working in yuv420p (what decoders give and x264 takes) means no colour
conversion of the whole canvas per frame; a source's picture is scaled once per new
frame and reused while it repeats."""

from typing import NamedTuple

import av
import numpy as np

from bots.recorder.layout import Rect, fit

# limited-range luma: black for the background, a dark grey for a place with no picture
BLACK_Y, EMPTY_Y, NEUTRAL_UV = 16, 40, 128


class Tile(NamedTuple):
    cell: Rect
    key: str        # whose picture (a pid)
    seq: int        # which of their frames; the same seq is the same picture
    frame: av.VideoFrame | None


def planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """The Y, U and V planes of a yuv420p frame as arrays (copies, without row padding)."""
    return [np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width].copy()
            for p in frame.planes]


class Compositor:
    def __init__(self, width: int, height: int):
        assert width % 2 == 0 and height % 2 == 0
        self.width, self.height = width, height
        self._buffer = np.empty((height * 3 // 2, width), np.uint8)
        quarter = height * width // 4
        flat = self._buffer.reshape(-1)
        luma = height * width
        self._planes = [self._buffer[:height],
                        flat[luma:luma + quarter].reshape(height // 2, width // 2),
                        flat[luma + quarter:].reshape(height // 2, width // 2)]
        self._scaled: dict[str, tuple] = {}  # key -> (seq, rect, planes)

    def compose(self, tiles: list[Tile]) -> av.VideoFrame:
        y, u, v = self._planes
        y.fill(BLACK_Y)
        u.fill(NEUTRAL_UV)
        v.fill(NEUTRAL_UV)
        for tile in tiles:
            if tile.frame is None:
                c = tile.cell
                y[c.y:c.y + c.height, c.x:c.x + c.width] = EMPTY_Y
            else:
                self._paste(tile)
        for key in self._scaled.keys() - {t.key for t in tiles}:
            del self._scaled[key]
        return av.VideoFrame.from_ndarray(self._buffer, format="yuv420p")

    def _paste(self, tile: Tile) -> None:
        rect = fit(tile.cell, tile.frame.width, tile.frame.height)
        cached = self._scaled.get(tile.key)
        if cached and cached[0] == tile.seq and cached[1] == rect:
            scaled = cached[2]
        else:
            scaled = planes(tile.frame.reformat(width=rect.width, height=rect.height,
                                                format="yuv420p"))
            self._scaled[tile.key] = (tile.seq, rect, scaled)
        for i, plane in enumerate(scaled):
            d = 1 if i == 0 else 2
            self._planes[i][rect.y // d:rect.y // d + plane.shape[0],
                            rect.x // d:rect.x // d + plane.shape[1]] = plane
