"""The grid's geometry, the mixing rules of who is in the picture, and the audio buffer:
pure logic, no clock and no media."""

import numpy as np
import pytest

from bots.recorder.audiobuffer import AudioBuffer
from bots.recorder.layout import Rect, cells, fit
from bots.recorder.mixer import mix
from bots.recorder.places import Places


@pytest.mark.parametrize("count", range(1, 7))
def test_cells_for_one_to_six_places_lie_inside_the_canvas_without_overlap(count):
    grid = cells(count, 1280, 720)
    assert len(grid) == count
    covered = np.zeros((720, 1280), int)
    for c in grid:
        assert c.x >= 0 and c.y >= 0 and c.x + c.width <= 1280 and c.y + c.height <= 720
        assert c.x % 2 == c.y % 2 == c.width % 2 == c.height % 2 == 0
        covered[c.y:c.y + c.height, c.x:c.x + c.width] += 1
    assert covered.max() == 1
    assert len({(c.width, c.height) for c in grid}) == 1  # every place the same size


def test_rows_of_the_grid_for_each_count():
    rows = {n: sorted({c.y for c in cells(n, 1280, 720)}) for n in range(1, 7)}
    assert [len(rows[n]) for n in range(1, 7)] == [1, 1, 2, 2, 2, 2]
    third = cells(3, 1280, 720)[2]  # the short row is centred
    assert third.x == (1280 - third.width) // 2


def test_a_picture_keeps_its_aspect_ratio_and_is_centred_in_its_cell():
    inside = fit(Rect(0, 0, 640, 720), 640, 480)  # letterboxed
    assert inside == Rect(0, 120, 640, 480)
    wide = fit(Rect(0, 0, 1280, 720), 640, 480)  # pillarboxed
    assert wide == Rect(160, 0, 960, 720)
    portrait = fit(Rect(100, 100, 426, 360), 480, 640)
    assert portrait.height == 360 and abs(portrait.width / portrait.height - 0.75) < 0.02
    assert portrait.x - 100 == pytest.approx((426 - portrait.width) / 2, abs=2)


def test_first_six_take_places_and_the_seventh_waits():
    places = Places(reserve=False)
    assert [places.enter(f"p{i}") for i in range(7)] == [True] * 6 + [False]
    assert places.order() == [f"p{i}" for i in range(6)]
    assert places.waiting == ["p6"]


def test_without_reserve_a_leaver_frees_the_place_for_the_first_waiting():
    places = Places(reserve=False)
    for i in range(8):
        places.enter(f"p{i}")
    assert places.leave("p2") == ["p6"]
    assert places.order() == ["p0", "p1", "p3", "p4", "p5", "p6"]
    assert places.leave("p7") == []  # a waiting leaver just stops waiting
    assert places.leave("p0") == [] and places.order() == ["p1", "p3", "p4", "p5", "p6"]


def test_with_reserve_a_leaver_keeps_the_place_and_gets_it_back_on_return():
    places = Places(reserve=True)
    for i in range(7):
        places.enter(f"p{i}")
    assert places.leave("p2") == []
    assert places.order() == [f"p{i}" for i in range(6)]
    assert not places.place_of("p2").present and places.waiting == ["p6"]
    assert places.enter("p2") is True and places.place_of("p2").present


def test_with_reserve_newcomers_still_fill_places_never_taken():
    places = Places(reserve=True)
    places.enter("a")
    places.leave("a")
    places.enter("b")
    assert places.order() == ["a", "b"]


def test_the_audio_buffer_waits_for_its_start_level_then_pads_a_short_read():
    buffer = AudioBuffer(start=100, cap=1000)
    buffer.push(np.arange(60, dtype=np.int16))
    assert buffer.pull(50) is None  # still filling
    buffer.push(np.arange(60, 120, dtype=np.int16))
    assert list(buffer.pull(50)) == list(range(50))
    out = buffer.pull(100)  # 70 left: padded with silence, and it fills up again
    assert list(out[:70]) == list(range(50, 120)) and not out[70:].any()
    buffer.push(np.ones(50, np.int16))
    assert buffer.pull(10) is None


def test_the_audio_buffer_trims_to_its_start_level_past_its_cap():
    buffer = AudioBuffer(start=100, cap=300)
    buffer.push(np.arange(250, dtype=np.int16))
    buffer.push(np.arange(250, 350, dtype=np.int16))
    assert len(buffer) == 100 and buffer.trimmed == 250  # the newest 100 are kept
    assert list(buffer.pull(100)) == list(range(250, 350))


def test_mixing_sums_and_clips_instead_of_wrapping():
    loud = np.full(4, 30000, np.int16)
    assert list(mix([loud, loud], 4)) == [32767] * 4
    assert list(mix([-loud, -loud], 4)) == [-32768] * 4
    assert list(mix([np.array([1, 2], np.int16), np.array([10, -20], np.int16)], 2)) == [11, -18]
    assert not mix([], 3).any()
