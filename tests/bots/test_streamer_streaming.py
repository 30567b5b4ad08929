"""One stream's life as the streamer runs it, against a stand-in for the server's stream
record with the contract's states and transitions (tests/bots/streams.py): the reports
and their order, progress every ~2 s, the host's requests, a crashed bot's successor
resuming near the saved position, and honest failures."""

import asyncio
import shutil
import time

import pytest

from bots.streamer.options import StreamOptions
from bots.streamer.player import Player
from bots.streamer.streaming import Streaming
from harness.clips import FPS
from tests.bots.aio import run_async

from . import streamer_media
from .streamer_media import CLIP_SECONDS, Watch, seconds_of
from .streams import StreamRecord, closed_port_url, served

clip_dir, media_url = streamer_media.clip_dir, streamer_media.media_url  # fixtures


def streaming(record: StreamRecord, refresh_every: float = 1800.0, **options) -> Streaming:
    opts = StreamOptions.parse(options)
    return Streaming(record, record.stream["id"], opts, Player(live=opts.live, loop=opts.loop),
                     refresh_every=refresh_every)


async def until(check, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        await asyncio.sleep(0.05)
    return value


def test_a_stream_reports_playing_its_position_every_2_s_and_ended_at_the_end(media_url):
    record = StreamRecord("s1", media_url + "/clip.mp4")

    async def scenario():
        stream, over = streaming(record), asyncio.Event()
        stream.start(on_over=over.set)
        await asyncio.wait_for(over.wait(), CLIP_SECONDS + 15)
        return await stream.finish("stopped")
    assert run_async(scenario) == 0
    assert record.states() == ["playing", "ended"] and record.state == "ended"
    first = record.reports[0][1]
    assert first["position"] == 0 and first["duration"] == pytest.approx(CLIP_SECONDS, abs=0.1)
    progress = record.positions()[1:-1]  # between the first and the last report
    assert len(progress) >= 2
    assert [p for _, p in progress] == sorted(p for _, p in progress)
    for (at, position), (next_at, next_position) in zip(progress, progress[1:], strict=False):
        assert next_at - at == pytest.approx(2.0, abs=0.5)
        assert next_position - position == pytest.approx(next_at - at, abs=0.5)
    assert record.stream["position"] == pytest.approx(CLIP_SECONDS, abs=0.1)


def test_the_hosts_pause_resume_seek_and_stop_are_carried_out_once_each_and_reported(media_url):
    record = StreamRecord("s1", media_url + "/clip.mp4")

    async def scenario():
        stream = streaming(record)
        stream.start()
        watch = None
        await until(lambda: record.state == "playing", "playing")
        watch = Watch(stream.player)
        await asyncio.sleep(1.0)
        pushed = record.ask("pause")
        stream.request(pushed)
        stream.request(pushed)  # the same event twice (and its echo after our report)
        await until(lambda: record.state == "paused", "paused")
        stream.request(dict(pushed, state="paused"))
        await asyncio.sleep(0.5)
        stream.request(record.ask("resume"))
        await until(lambda: record.state == "playing", "playing again")
        stream.request(record.ask("seek", 4.5))
        await until(lambda: any(p >= 4.5 for _, p in record.positions()), "the seek reported")
        await until(lambda: max(watch.numbers(), default=0) >= 4.5 * FPS, "the new place seen")
        stream.request(record.stop())  # DELETE: stopping
        code = await asyncio.wait_for(stream.finish("stopped"), 10)
        watch.close()
        return code, stream
    code, stream = run_async(scenario)
    assert code == 0 and record.states() == ["playing", "paused", "playing", "ended"]
    seek = next(body for _, body in record.reports if body.get("position", 0) >= 4.5)
    assert seek == {"position": pytest.approx(4.5, abs=0.1)}  # a seek keeps the state
    assert record.stream["state"] == "ended"


@pytest.mark.parametrize("state, reports", [("stopping", ["ended"]), ("ended", []), ("failed", [])])
def test_a_stream_stopped_or_over_before_its_bot_began_is_not_played(media_url, state, reports):
    record = StreamRecord("s1", media_url + "/clip.mp4", state=state)

    async def scenario():
        stream, over = streaming(record), asyncio.Event()
        stream.start(on_over=over.set)
        await asyncio.wait_for(over.wait(), 10)
        return await stream.finish("stopped"), stream.player.readings
    assert run_async(scenario) == (0, 0)
    assert record.states() == reports


@pytest.mark.parametrize("paused", [False, True])
def test_a_crashed_streamer_restarted_with_resume_goes_on_near_the_saved_position(media_url, paused):
    """The first streamer dies mid-way without a word (its process killed); the next one,
    started with `resume`, reads the saved position and plays from there: the first
    numbered picture it sends is within 2 s of it (in fact within one report period)."""
    record = StreamRecord("s1", media_url + "/clip.mp4")

    async def scenario():
        first = streaming(record)
        first.start()
        await until(lambda: len(record.positions()) >= 2, "a progress report")
        if paused:
            first.request(record.ask("pause"))
            await until(lambda: record.state == "paused", "paused")
        await asyncio.sleep(1.3)
        first._task.cancel()  # killed: nothing more is reported
        await first.player.close()
        saved, state = record.stream["position"], record.state
        second = streaming(record, resume=True)
        second.start()
        watch = Watch(second.player)
        await until(lambda: watch.numbers(), "a picture from the second streamer")
        await asyncio.sleep(1.0)
        watch.close()
        code = await second.finish("stopped")
        return saved, state, watch.numbers(), code
    saved, state, numbers, code = run_async(scenario)
    assert state == ("paused" if paused else "playing") and saved > 1.0
    assert abs(seconds_of(numbers[0]) - saved) <= 2.0
    assert seconds_of(numbers[0]) == pytest.approx(saved, abs=0.1)  # exactly where it was saved
    if paused:  # it stays paused there, showing that picture
        assert set(numbers) == {numbers[0]}
        assert record.states() == ["playing", "paused", "paused", "ended"]
    else:
        assert seconds_of(numbers[-1] - numbers[0]) > 0.5
        assert record.states() == ["playing", "playing", "ended"]
    assert code == 0


@pytest.mark.parametrize("state, resume, starts_at", [
    ("starting", True, 3.0),  # a new stream the server starts where an earlier one stopped
    ("starting", False, 0.0),
    ("playing", False, 3.0),  # a restarted bot goes on whatever `resume` says
])
def test_where_a_stream_starts(media_url, state, resume, starts_at):
    record = StreamRecord("s1", media_url + "/clip.mp4", state=state, position=3.0)

    async def scenario():
        stream = streaming(record, resume=resume)
        stream.start()
        watch = Watch(stream.player)
        await until(lambda: watch.numbers(), "a picture")
        watch.close()
        await stream.finish("stopped")
        return watch.numbers()[0]
    assert seconds_of(run_async(scenario)) == pytest.approx(starts_at, abs=0.1)


@pytest.mark.parametrize("source", ["corrupt", "unreachable"])
def test_a_source_that_cannot_be_played_is_reported_failed_with_a_reason_within_10_s(media_url, source):
    url = media_url + "/corrupt.mp4" if source == "corrupt" else closed_port_url()
    record = StreamRecord("s1", url)

    async def scenario():
        started, over = time.monotonic(), asyncio.Event()
        stream = streaming(record)
        stream.start(on_over=over.set)
        await asyncio.wait_for(over.wait(), 15)
        took = time.monotonic() - started
        return await stream.finish("stopped"), took
    code, took = run_async(scenario)
    assert code == 1 and took < 10
    assert record.states() == ["failed"]
    error = record.stream["error"]
    assert error and "127.0.0.1" not in error
    assert ("not a media file" in error) if source == "corrupt" else ("Connection refused" in error)


def test_a_looping_stream_reads_its_source_url_again_before_the_old_one_expires(clip_dir, tmp_path):
    """An upload's source URL is a presigned GET that expires; the next lap must not use
    the old one. Here the old one is gone (404) by the time the loop comes round."""
    shutil.copy(clip_dir / "clip.mp4", tmp_path / "old.mp4")
    shutil.copy(clip_dir / "clip.mp4", tmp_path / "new.mp4")

    async def scenario():
        with served(tmp_path) as base:
            record = StreamRecord("s1", base + "/old.mp4", state="playing", position=CLIP_SECONDS - 2.5)
            stream = streaming(record, refresh_every=0.5, loop=True)
            stream.start()
            watch = Watch(stream.player)
            await until(lambda: watch.numbers(), "a picture")
            record.source_url = base + "/new.mp4"
            (tmp_path / "old.mp4").unlink()
            await asyncio.sleep(3.5)  # round the end and on
            watch.close()
            state = stream.player.state
            await stream.finish("stopped")
            return watch.numbers(), state
    numbers, state = run_async(scenario)
    assert state == "playing" and min(numbers[-10:]) < FPS  # the next lap, from the new URL
