"""The mixer on its real-time clock, fed by synthetic participants (a colour and a tone
each, see recorded.py), checked on the decoded file: who is in the picture and where,
whose voice is heard, what the file holds and how long it lasts."""

import asyncio
import time

import av
import numpy as np
import pytest

from bots.recorder.compose import Compositor, Tile
from bots.recorder.layout import cells
from bots.recorder.mixer import FPS, Mixer
from harness.media import ColorTrack, ToneTrack, color_frames
from tests.bots import recorded
from tests.bots.aio import run_async
from tests.bots.recorded import COLORS, TONES, at, color_of, layout_of, pictures, sound, tile

HEARD, QUIET = 0.02, 0.004  # tone amplitudes (full scale 1): 4000/32768 is about 0.12


class Person:
    """A participant with a camera and a microphone (either may be left out)."""

    def __init__(self, n: int, audio: bool = True, video: bool = True):
        self.pid = f"p{n}"
        self.tracks = ([ToneTrack(TONES[n], amplitude=4000)] if audio else []) + \
                      ([ColorTrack(COLORS[n])] if video else [])

    def enter(self, mixer: Mixer) -> None:
        mixer.enter(self.pid)
        for track in self.tracks:
            mixer.attach(self.pid, track)

    def leave(self, mixer: Mixer) -> None:
        for track in self.tracks:  # the peer closes, then the runtime says they left
            track.stop()
        mixer.leave(self.pid)


async def _record(directory, mode, people, seconds, reserve=True, events=()):
    """Record `people` (entering at the start) for `seconds`; `events` are (time,
    callable(mixer)) run on the way."""
    mixer = Mixer(mode, directory, reserve=reserve)
    await mixer.start()
    started = time.monotonic()
    for person in people:
        person.enter(mixer)
    for when, action in sorted(events, key=lambda e: e[0]):
        await asyncio.sleep(max(0.0, started + when - time.monotonic()))
        action(mixer)
    await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
    result = await mixer.stop()
    await mixer.close()
    assert result.error is None and result.path.exists()
    return result, mixer


def record(directory, mode, people, seconds, **kwargs):
    return run_async(lambda: _record(directory, mode, people, seconds, **kwargs))


def heard(samples, rate, start, end) -> list[bool | None]:
    """Per participant: True heard, False silent, None in between (undecided)."""
    part = recorded.segment(samples, rate, start, end)
    levels = [recorded.tone_level(part, rate, f) for f in TONES]
    return [True if lv > HEARD else False if lv < QUIET else None for lv in levels]


@pytest.mark.parametrize("count", range(1, 7))
def test_the_grid_for_one_to_six_places_shows_each_picture_in_its_cell(count):
    frames = [color_frames(COLORS[i], count=1)[0] for i in range(count)]
    canvas = Compositor(1280, 720).compose(
        [Tile(cell, f"p{i}", 1, frames[i]) for i, cell in enumerate(cells(count, 1280, 720))])
    picture = canvas.to_ndarray(format="rgb24")
    assert layout_of(picture, count) == list(range(count))
    assert picture[:4, :4].max() < 30  # the canvas's corner is background (black)


def test_a_place_without_a_picture_is_grey_not_someone_elses():
    frame = color_frames(COLORS[0], count=1)[0]
    grid = cells(2, 1280, 720)
    picture = Compositor(1280, 720).compose(
        [Tile(grid[0], "a", 1, frame), Tile(grid[1], "b", 0, None)]).to_ndarray(format="rgb24")
    assert layout_of(picture, 2) == [0, None]
    assert 20 < np.median(tile(picture, 2, 1)) < 60


def test_seven_enter_the_first_six_are_mixed_and_the_seventh_waits(tmp_path):
    result, mixer = record(tmp_path, "av", [Person(n) for n in range(7)], 2.2)
    assert mixer.order() == [f"p{n}" for n in range(6)]
    assert layout_of(at(pictures(result.path), 1.8), 6) == [0, 1, 2, 3, 4, 5]
    samples, rate = sound(result.path)
    assert heard(samples, rate, 0.6, 2.0) == [True] * 6 + [False]


def test_without_reserve_a_leaver_is_removed_and_the_first_waiting_takes_a_place(tmp_path):
    people = [Person(n) for n in range(7)]
    result, mixer = record(tmp_path, "av", people, 3.0, reserve=False,
                           events=[(1.3, people[1].leave)])
    pics = pictures(result.path)
    assert layout_of(at(pics, 1.1), 6) == [0, 1, 2, 3, 4, 5]
    assert layout_of(at(pics, 2.7), 6) == [0, 2, 3, 4, 5, 6]  # closed up, p6 at the end
    samples, rate = sound(result.path)
    before, after = heard(samples, rate, 0.5, 1.2), heard(samples, rate, 1.9, 2.9)
    assert before[1] is True and before[6] is False
    assert after[1] is False and after[6] is True


@pytest.mark.parametrize("reserve", [True, False])
def test_a_leaver_with_reserve_keeps_last_frame_and_place_without_is_laid_out_away(tmp_path, reserve):
    people = [Person(n) for n in range(3)]
    result, _ = record(tmp_path, "av", people, 3.0, reserve=reserve,
                       events=[(1.2, people[1].leave)])
    pics = pictures(result.path)
    assert layout_of(at(pics, 1.0), 3) == [0, 1, 2]
    late, later = at(pics, 2.2), at(pics, 2.9)
    if reserve:
        assert layout_of(later, 3) == [0, 1, 2]
        kept = np.abs(tile(late, 3, 1).astype(int) - tile(later, 3, 1)).mean()
        moving = np.abs(tile(late, 3, 0).astype(int) - tile(later, 3, 0)).mean()
        assert kept < 1.5 < moving  # the leaver's last frame stands still; p0 goes on
    else:
        assert layout_of(later, 2) == [0, 2]
    samples, rate = sound(result.path)
    assert heard(samples, rate, 1.9, 2.9) == [True, False, True, False, False, False, False]


def _duration(path) -> float:
    with av.open(str(path)) as container:
        return container.duration / 1e6


def test_audio_mode_writes_an_mp3_of_everyone_lasting_the_recorded_time(tmp_path):
    result, _ = record(tmp_path, "audio", [Person(0), Person(1)], 3.0)
    assert result.path.name == "recording.mp3"
    with av.open(str(result.path)) as container:
        assert [(s.type, s.codec_context.name) for s in container.streams] == [("audio", "mp3float")]
    assert _duration(result.path) == pytest.approx(result.seconds, rel=0.1)
    samples, rate = sound(result.path)
    assert np.sqrt(np.mean(samples[rate:] ** 2)) > 0.05  # not silent
    assert heard(samples, rate, 0.8, 2.8)[:3] == [True, True, False]


def test_av_mode_writes_h264_and_aac_lasting_the_recorded_time_with_pictures_that_change(tmp_path):
    result, _ = record(tmp_path, "av", [Person(0), Person(1)], 3.0)
    with av.open(str(result.path)) as container:
        assert sorted((s.type, s.codec_context.name) for s in container.streams) == \
            [("audio", "aac"), ("video", "h264")]
    assert _duration(result.path) == pytest.approx(result.seconds, rel=0.1)
    pics = pictures(result.path)
    assert len(pics) == pytest.approx(result.seconds * FPS, rel=0.15)  # a steady frame rate
    changes = [np.abs(a.astype(int) - b).mean() for (_, a), (_, b) in zip(pics[5:-1], pics[6:], strict=True)]
    # the bars move; a tick the loop took late shares the picture of the next one
    assert sum(change > 0.5 for change in changes) >= 0.8 * len(changes)
    samples, rate = sound(result.path)
    assert heard(samples, rate, 0.8, 2.8)[:2] == [True, True]


def test_video_mode_writes_the_grid_alone(tmp_path):
    result, _ = record(tmp_path, "video", [Person(0)], 1.5)
    with av.open(str(result.path)) as container:
        assert [(s.type, s.codec_context.name) for s in container.streams] == [("video", "h264")]
    assert color_of(tile(pictures(result.path)[-1][1], 1, 0)) == 0


class StallingColorTrack(ColorTrack):
    """Sends a few frames, then nothing more (a frozen camera) without ending."""

    async def recv(self):
        if self.sent >= 4:
            await asyncio.Event().wait()
        return await super().recv()


def test_a_stalled_picture_repeats_and_a_person_without_a_microphone_is_silent(tmp_path):
    still = Person(0, audio=False)
    still.tracks = [StallingColorTrack(COLORS[0])]
    result, _ = record(tmp_path, "av", [still, Person(1)], 2.5)
    pics = pictures(result.path)
    assert len(pics) == pytest.approx(result.seconds * FPS, rel=0.15)
    first, last = at(pics, 1.0), at(pics, 2.3)
    assert layout_of(last, 2) == [0, 1]
    assert np.abs(tile(first, 2, 0).astype(int) - tile(last, 2, 0)).mean() < 1.5
    samples, rate = sound(result.path)
    assert heard(samples, rate, 0.8, 2.3)[:2] == [False, True]


def test_an_encoder_too_slow_for_real_time_never_leaves_the_recording_2_s_behind(tmp_path):
    async def scenario():
        mixer = Mixer("av", tmp_path)
        write_video, write_audio = mixer.writer.write_video, mixer.writer.write_audio

        def slow_video(index, frame):  # a third of the frame rate at best
            time.sleep(0.2)
            write_video(index, frame)

        def slow_audio(index, samples):  # slower than real time even without pictures
            time.sleep(0.09)
            write_audio(index, samples)

        mixer.writer.write_video, mixer.writer.write_audio = slow_video, slow_audio
        await mixer.start()
        Person(0).enter(mixer)
        await asyncio.sleep(5)
        return await mixer.stop()

    result = run_async(scenario)
    assert result.skipped_pictures > 0 and result.dropped > 0
    assert result.max_lag < 2.0
    assert _duration(result.path) == pytest.approx(result.seconds, rel=0.1)
