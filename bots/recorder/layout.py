"""Grid geometry for the video canvas: cells for 1..6 places and a picture fitted inside
a cell. Everything is even-sized and even-aligned, because yuv420p halves the chroma
planes and a pasted tile must cover whole chroma samples."""

from typing import NamedTuple

# Rows of cells per number of places; a shorter row is centred.
ROWS = {1: (1,), 2: (2,), 3: (2, 1), 4: (2, 2), 5: (3, 2), 6: (3, 3)}


class Rect(NamedTuple):
    x: int
    y: int
    width: int
    height: int


def _even(value: float) -> int:
    return int(value) // 2 * 2


def cells(count: int, width: int, height: int) -> list[Rect]:
    """The cells of a grid of `count` places on a width x height canvas, in place order
    (row by row, left to right)."""
    if count == 0:
        return []
    rows = ROWS[count]
    columns = max(rows)
    cell_w, cell_h = _even(width / columns), _even(height / len(rows))
    top = _even((height - cell_h * len(rows)) / 2)
    result = []
    for r, in_row in enumerate(rows):
        left = _even((width - cell_w * in_row) / 2)
        result += [Rect(left + c * cell_w, top + r * cell_h, cell_w, cell_h) for c in range(in_row)]
    return result


def fit(cell: Rect, width: int, height: int) -> Rect:
    """A width x height picture scaled into `cell` keeping its aspect ratio, centred
    (letterboxed or pillarboxed)."""
    scale = min(cell.width / width, cell.height / height)
    w, h = max(2, _even(width * scale)), max(2, _even(height * scale))
    return Rect(cell.x + _even((cell.width - w) / 2), cell.y + _even((cell.height - h) / 2), w, h)
