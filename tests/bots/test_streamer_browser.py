"""The streamer bot in a meeting with a real Chromium page on the local stack: the bot
runs on the runtime (joined as a guest: no invitation) and plays the numbered test clip
over HTTP; the page's own peer.js receives it. The page reads the frame numbers from the
pixels of the streamer's tile and the audio level from its inbound stats: the picture
advances in real time, the sound is not silent, and a pause holds the picture."""

import pytest

from bots.streamer.bot import StreamerBot
from bots.streamer.options import StreamOptions
from harness.clips import FPS
from tests.api.stack_client import Rest
from tests.browser import conftest as browser_suite
from tests.browser.conftest import join, wait_until

from . import streamer_media
from .conftest import config_for
from .streamer_page import CONNECTIONS, TILE_LEVELS, numbers_for
from .streams import StreamRecord

browser, people = browser_suite.browser, browser_suite.people  # the browser suite's fixtures
clip_dir, media_url = streamer_media.clip_dir, streamer_media.media_url

def test_a_page_sees_the_streamed_clip_advance_in_real_time_hears_it_and_sees_a_pause(
        stack, people, run_bot, media_url):
    (ada,) = people(1, init_script=CONNECTIONS)
    mid = Rest(stack.api).create("Watch together")["meeting"]["id"]
    join(ada, mid, "Ada")
    record = StreamRecord("s1", media_url + "/clip.mp4")
    options = StreamOptions.parse({"title": "Clip", "loop": True})
    runner = run_bot(StreamerBot(config_for(stack, mid), "s1", options, api=record))
    bot_id = runner.wait_until(lambda bot: bot.me, "joined")
    wait_until(ada, "pid => document.querySelector(`.tile[data-pid='${pid}'] video`)?.videoWidth > 0",
               bot_id)
    wait_until(ada, TILE_LEVELS, bot_id)

    seen = numbers_for(ada, bot_id, 3.0)
    assert len(seen) >= 15, seen
    numbers = [n for _, n in seen]
    laps = sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if b < a)  # the loop
    assert laps <= 1 and len(set(numbers)) >= 10, seen
    if not laps:  # the picture advances as fast as time does
        (t0, n0), (t1, n1) = seen[0], seen[-1]
        assert (n1 - n0) / FPS == pytest.approx(t1 - t0, abs=0.6), seen
    audio = wait_until(ada, "async () => { const a = await window.__inboundAudio();"
                            " return a.level > 0.02 && a; }")
    assert audio["energy"] > 0 and audio["samples"] > 48_000, audio

    runner.call(lambda: runner.bot.streaming.request(record.ask("pause")))
    runner.wait_until(lambda bot: record.state == "paused", "paused")
    ada.wait_for_timeout(500)
    held = numbers_for(ada, bot_id, 1.5)
    assert held and len({n for _, n in held}) == 1, held  # the same picture stands
    assert record.stream["position"] * FPS == pytest.approx(held[0][1], abs=3)

    runner.call(lambda: runner.bot.streaming.request(record.ask("resume")))
    again = numbers_for(ada, bot_id, 1.5)
    assert len({n for _, n in again}) >= 5, again
    assert runner.stop() == 0
    assert record.states() == ["playing", "paused", "playing", "ended"]
    wait_until(ada, "pid => !document.querySelector(`.tile[data-pid='${pid}']`)", bot_id)
    assert ada.errors == []
