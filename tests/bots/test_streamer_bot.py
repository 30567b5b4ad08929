"""The streamer bot on the runtime in a meeting on the local stack (joined as a guest,
its stream a stand-in record): it leaves the meeting when the file ends, when its source
fails, when the meeting ends and when only bots are left, each time with its last report
made while it was still in, and the exit code that says how it went."""

import time

from bots.streamer.bot import StreamerBot
from bots.streamer.options import StreamOptions
from tests.api.stack_client import Rest

from . import streamer_media
from .conftest import config_for
from .streamer_media import CLIP_SECONDS
from .streams import StreamRecord, closed_port_url

clip_dir, media_url = streamer_media.clip_dir, streamer_media.media_url  # fixtures


def _meeting(stack):
    rest = Rest(stack.api)
    created = rest.create("Watch together")
    mid = created["meeting"]["id"]
    return rest, mid, rest.join(mid, "Host", hostKey=created["hostKey"])


def _present(rest, mid, host) -> set[str]:
    reply = rest.call("GET", f"/meetings/{mid}/participants", None, host.token)
    return {p["id"] for p in reply.json["participants"]}


def _streamer(stack, mid, record, **config) -> StreamerBot:
    options = StreamOptions.parse({"title": "Clip"})
    return StreamerBot(config_for(stack, mid, **config), record.stream["id"], options, api=record)


def test_at_the_end_of_the_file_the_streamer_reports_ended_and_leaves(stack, run_bot, media_url):
    rest, mid, host = _meeting(stack)
    record = StreamRecord("s1", media_url + "/clip.mp4")
    runner = run_bot(_streamer(stack, mid, record))
    bot_id = runner.wait_until(lambda bot: bot.me, "joined")
    assert bot_id in _present(rest, mid, host)
    started = time.monotonic()
    assert runner.finish() == 0
    assert time.monotonic() - started >= CLIP_SECONDS - 1
    assert record.states() == ["playing", "ended"] and runner.bot.stop_reason == "stopped"
    assert bot_id not in _present(rest, mid, host)


def test_a_source_that_fails_is_reported_and_the_streamer_leaves_with_exit_code_1(stack, run_bot):
    rest, mid, host = _meeting(stack)
    record = StreamRecord("s1", closed_port_url())
    runner = run_bot(_streamer(stack, mid, record))
    assert runner.finish(15) == 1
    assert record.states() == ["failed"] and "Connection refused" in record.stream["error"]
    assert runner.bot.me and runner.bot.me not in _present(rest, mid, host)


def test_when_the_meeting_ends_the_streamer_reports_ended_and_stops(stack, run_bot, media_url):
    rest, mid, host = _meeting(stack)
    record = StreamRecord("s1", media_url + "/clip.mp4")
    runner = run_bot(_streamer(stack, mid, record))
    runner.wait_until(lambda bot: record.state == "playing", "playing")
    assert rest.call("DELETE", f"/meetings/{mid}", None, host.token).status == 204
    assert runner.finish(20) == 0
    assert runner.bot.stop_reason == "meeting-ended"
    assert record.states() == ["playing", "ended"] and record.stream["position"] < CLIP_SECONDS - 1


def test_a_streamer_left_with_only_bots_stops_after_the_idle_time(stack, run_bot, media_url):
    rest = Rest(stack.api)
    mid = rest.create("Empty room")["meeting"]["id"]
    record = StreamRecord("s1", media_url + "/clip.mp4")
    runner = run_bot(_streamer(stack, mid, record, idle_seconds=2.0))
    assert runner.finish(20) == 0
    assert runner.bot.stop_reason == "idle"
    assert record.states() == ["playing", "ended"]
