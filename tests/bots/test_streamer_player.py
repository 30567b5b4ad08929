"""The streamer's media pipeline on its own: a real source over HTTP (the numbered test
clip, a live HLS stream written while it plays, a live RTMP stream, broken and unreachable sources) through
FFmpeg, the playback clock and the two outgoing tracks, read as a peer's sender reads
them. Positions are read back from the pictures' frame numbers."""

import asyncio
import time

import numpy as np
import pytest

from bots.streamer.decoder import fit
from bots.streamer.player import PlaybackError, Player, Timing
from bots.streamer.source import Timeouts
from harness.clips import FPS, LiveHls
from harness.rtmp import LiveRtmp
from tests.bots.aio import run_async

from . import streamer_media
from .streamer_media import CLIP_SECONDS, Watch, seconds_of, tone_level
from .streams import closed_port_url, served, silent_port, stalling

clip_dir, media_url = streamer_media.clip_dir, streamer_media.media_url  # fixtures
FAILS_WITHIN = 10.0  # the request: a source that cannot be played is known within 10 s


def play(scenario, timeout: float = 60):
    """scenario(player factory) on an event loop; every player made is closed after."""
    players = []

    def make(**kwargs) -> Player:
        players.append(Player(**kwargs))
        return players[-1]

    async def main():
        try:
            return await scenario(make)
        finally:
            for player in players:
                await player.close()
    return run_async(main, timeout)


def test_a_clip_plays_in_real_time_in_order_with_its_tone_and_then_ends(media_url):
    async def scenario(make):
        player = make()
        await player.start(media_url + "/clip.mp4")
        started = time.monotonic()
        watch = Watch(player)
        assert await asyncio.wait_for(player.finished(), CLIP_SECONDS + 10) == "ended"
        took = time.monotonic() - started
        watch.close()
        return watch, took, player
    watch, took, player = play(scenario)
    numbers = watch.numbers()
    assert numbers == sorted(numbers) and len(set(numbers)) > 0.9 * CLIP_SECONDS * FPS
    assert numbers[0] <= 3 and numbers[-1] >= CLIP_SECONDS * FPS - 3
    assert took == pytest.approx(CLIP_SECONDS, abs=0.6)  # real time, not as fast as it decodes
    # the picture keeps to the wall clock: each number arrives when its time has come
    start = watch.pictures[0][0]
    late = [at - start - seconds_of(n) for at, n in watch.pictures if n is not None]
    assert max(abs(x) for x in late) < 0.25, late
    assert tone_level(np.concatenate(watch.sound[50:200])) > 0.2  # the clip's tone, 0.3 of full scale
    assert player.duration == pytest.approx(CLIP_SECONDS, abs=0.1)
    assert player.position() == pytest.approx(player.duration, abs=0.05)


def test_pause_holds_the_picture_and_silences_the_sound_and_resume_goes_on_from_there(media_url):
    async def scenario(make):
        player = make()
        await player.start(media_url + "/clip.mp4")
        watch = Watch(player)
        await asyncio.sleep(1.5)
        assert player.pause()
        paused_at, position = time.monotonic(), player.position()
        await asyncio.sleep(1.5)
        held_sound = np.concatenate([s for s in watch.sound[-50:]])
        assert player.resume()
        resumed_at = time.monotonic()
        await asyncio.sleep(1.0)
        watch.close()
        return watch, paused_at, resumed_at, position, held_sound
    watch, paused_at, resumed_at, position, held_sound = play(scenario)
    held = set(watch.numbers(paused_at + 0.2)) - set(watch.numbers(resumed_at))
    during = [n for at, n in watch.pictures if paused_at + 0.2 <= at < resumed_at and n is not None]
    assert during and len(set(during)) == 1  # the same picture, sent again
    assert seconds_of(during[0]) == pytest.approx(position, abs=0.15)
    assert held and not held_sound.any()  # and silence
    after = watch.numbers(resumed_at + 0.3)
    assert seconds_of(after[0]) == pytest.approx(position + 0.3, abs=0.25)
    assert after == sorted(after) and seconds_of(after[-1] - after[0]) > 0.4


def test_a_seek_jumps_there_playing_or_paused(media_url):
    async def scenario(make):
        player = make()
        await player.start(media_url + "/clip.mp4")
        watch = Watch(player)
        await asyncio.sleep(0.8)
        asked, before = time.monotonic(), player.position()
        assert player.seek(4.0)
        await watch.until(lambda: max(watch.numbers(asked), default=0) > 3 * FPS, "the new place")
        playing_seek = watch.numbers(asked)
        await asyncio.sleep(0.5)
        player.pause()
        asked = time.monotonic()
        assert player.seek(1.0)
        await asyncio.sleep(1.0)
        paused_seek = watch.numbers(asked + 0.5)
        position = player.position()
        watch.close()
        return before, playing_seek, paused_seek, position
    before, playing_seek, paused_seek, position = play(scenario)
    # what was showing (held while the new place loads), then the new place: nothing between
    first_new = next(i for i, n in enumerate(playing_seek) if n > 3 * FPS)
    assert all(seconds_of(n) <= before + 0.1 for n in playing_seek[:first_new])
    assert seconds_of(playing_seek[first_new]) == pytest.approx(4.0, abs=0.1)
    assert set(paused_seek) == {FPS * 1}  # paused: the new place's picture, held
    assert position == pytest.approx(1.0, abs=0.05)


def test_a_looping_clip_starts_again_from_the_beginning_without_a_gap(media_url):
    async def scenario(make):
        player = make(loop=True)
        await player.start(media_url + "/clip.mp4", position=CLIP_SECONDS - 1.5)
        watch = Watch(player)
        await asyncio.sleep(3.0)
        watch.close()
        return watch, player.state, player.position()
    watch, state, position = play(scenario)
    numbers = watch.numbers()
    wrap = next(i for i in range(1, len(numbers)) if numbers[i] < numbers[i - 1])
    assert numbers[wrap - 1] >= CLIP_SECONDS * FPS - 3 and numbers[wrap] <= 3
    times = [at for at, n in watch.pictures if n is not None]
    assert times[wrap] - times[wrap - 1] < 0.1  # the next lap was buffered already
    assert state == "playing" and position == pytest.approx(1.5, abs=0.3)


def test_resuming_at_a_position_starts_there(media_url):
    async def scenario(make):
        player = make()
        await player.start(media_url + "/clip.mp4", position=3.2)
        watch = Watch(player)
        await watch.until(lambda: watch.numbers(), "a picture")
        watch.close()
        return watch.first_number(0)
    assert seconds_of(play(scenario)) == pytest.approx(3.2, abs=0.05)


def test_a_picture_larger_than_720p_is_sent_at_720p_keeping_its_shape():
    assert fit(1920, 1080) == (1280, 720)
    assert fit(3840, 1600) == (1280, 532)
    assert fit(1080, 1920) == (404, 720)
    assert fit(640, 360) == (640, 360)
    assert fit(641, 361) == (640, 360)  # even sizes for yuv420p


def test_a_live_hls_stream_written_while_it_plays_starts_near_the_live_edge(tmp_path):
    async def scenario(make):
        with LiveHls(tmp_path) as live, served(tmp_path) as base:
            await asyncio.sleep(6.0)  # six segments listed, from frame 0
            player = make(live=True)
            at_start = live.frame
            await player.start(base + "/live.m3u8")
            watch = Watch(player)
            await asyncio.sleep(4.0)
            watch.close()
            return (watch, at_start, live.frame, player.state, player.duration, player.seekable,
                    player.position(), player.pause(), player.seek(1.0))
    watch, at_start, at_end, state, duration, seekable, played, paused, sought = play(scenario)
    numbers = watch.numbers()
    # the live edge, as HLS defines it (three segments back), not the playlist's start
    assert at_start - 4.5 * FPS <= numbers[0] <= at_start
    assert numbers == sorted(numbers) and numbers[-1] - numbers[0] >= 2 * FPS  # advancing
    assert at_end - numbers[-1] < 5 * FPS  # keeping up
    assert state == "playing" and duration is None and not seekable
    assert played == pytest.approx(4.0, abs=1.5)  # seconds played
    assert not paused and not sought  # live: neither pauses nor seeks


def test_a_live_rtmp_stream_plays_from_where_it_is_when_the_player_connects():
    async def scenario(make):
        with LiveRtmp() as live:
            await asyncio.sleep(2.0)
            player = make(live=True)
            at_start = live.frame
            await player.start(live.url)
            watch = Watch(player)
            await asyncio.sleep(4.0)
            watch.close()
            return (watch, at_start, live.frame, player.state, player.duration, player.seekable,
                    player.pause())
    watch, at_start, at_end, state, duration, seekable, paused = play(scenario)
    numbers = watch.numbers()
    # from the keyframe after it connected (one a second), not from the stream's start
    assert at_start <= numbers[0] <= at_start + 2 * FPS
    assert numbers == sorted(numbers) and numbers[-1] - numbers[0] >= 2 * FPS  # advancing
    assert at_end - numbers[-1] < 3 * FPS  # keeping up
    assert state == "playing" and duration is None and not seekable and not paused


@pytest.mark.parametrize("source, reason", [
    ("corrupt", "not a media file"),
    ("missing", "404"),
    ("refused", "cannot reach the source: Connection refused"),
    ("silent", "no answer from the source within"),
    ("file", "must be an http, https, rtmp, rtmps URL"),
])
def test_a_source_that_cannot_be_played_fails_with_a_reason_within_10_s(media_url, source, reason):
    async def scenario(make):
        with silent_port() as silent:
            url = {"corrupt": media_url + "/corrupt.mp4", "missing": media_url + "/nothing.mp4",
                   "refused": closed_port_url(), "silent": silent,
                   "file": "file:///etc/hostname"}[source]
            started = time.monotonic()
            with pytest.raises(PlaybackError) as failed:
                await make().start(url)
            return str(failed.value), time.monotonic() - started
    message, took = play(scenario)
    assert reason in message and "127.0.0.1" not in message
    assert took < FAILS_WITHIN


def test_an_hls_playlist_naming_a_local_file_is_refused(tmp_path):
    (tmp_path / "list.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n"
                                        "file:///etc/hostname\n#EXT-X-ENDLIST\n")

    async def scenario(make):
        with served(tmp_path) as base, pytest.raises(PlaybackError):
            await make().start(base + "/list.m3u8")
    play(scenario)


def test_a_source_that_stalls_half_way_is_retried_then_fails(clip_dir):
    data = (clip_dir / "clip.mp4").read_bytes()
    timing = Timing(stall=2.0, retries=(0.2, 0.2), timeouts=Timeouts(open=2.0, read=1.5))

    async def scenario(make):
        with stalling(data, after=len(data) // 2) as (url, requests):
            player = make(timing=timing)
            await player.start(url)
            watch = Watch(player)
            started = time.monotonic()
            assert await asyncio.wait_for(player.finished(), 40) == "failed"
            watch.close()
            return player, watch, time.monotonic() - started, list(requests)
    player, watch, took, requests = play(scenario)
    assert player.readings == 3 and len(requests) >= 3  # the first reading and two retries
    assert player.error and "127.0.0.1" not in player.error
    reached = max(watch.numbers())
    assert 1.0 < seconds_of(reached) < CLIP_SECONDS * 0.75  # it played what came, then stalled
    assert took < 30
