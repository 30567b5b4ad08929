"""The streamer as the local stack launches it (`python -m bots.streamer`, a subprocess)
for a host's POST /meetings/{mid}/streams. A host's Chromium page sees a clip uploaded
to the stack's S3 (the bot reads it through its presigned GET): the frame numbers on
its tile advance in real time, the sound is not silent, a pause holds the picture, a
stop takes the tile away. Watched by a runtime bot joined as a guest that reads the
frame numbers it decodes: the streamer's process killed mid-way and started again with
the same environment resumes within 2 s of the position it saved. A live RTMP source on
this machine (accepted: the local stack allows private addresses) plays into the
meeting, its numbers advancing from where the source was. A corrupt file and
an unreachable URL reach the host as `failed` with a reason within 10 s.

These need the server's stream routes; where the stack answers 404 `not_found` for
them, the tests are skipped.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import urllib3

from harness.clips import FPS
from harness.rtmp import LiveRtmp
from harness.stack import ROOT, running_stack
from tests.api.stack_client import Rest, event
from tests.browser import conftest as browser_suite
from tests.browser.conftest import join_as_host, open_person, wait_until

from . import streamer_media
from .conftest import WAIT, config_for
from .streamer_media import Viewer, seconds_of
from .streamer_page import CONNECTIONS, TILE_LEVELS, numbers_for
from .streams import closed_port_url

clip_dir, media_url = streamer_media.clip_dir, streamer_media.media_url  # fixtures
browser = browser_suite.browser
FAILS_WITHIN = 10.0


@pytest.fixture(scope="module")
def streaming_stack(tmp_path_factory):
    """A stack of its own whose launcher starts the real streamer."""
    folder = tmp_path_factory.mktemp("streamer-stack")
    with running_stack(folder / "devserver.log", PARLEY_BOT_WORKDIR=str(folder / "work"),
                       PARLEY_BOT_LOG_DIR=str(folder / "logs")) as stack:
        yield stack, folder


def _until(check, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return value


def _routed(reply):
    if reply.status == 404 and (reply.json or {}).get("error", {}).get("code") == "not_found":
        pytest.skip("this stack has no stream routes yet (POST /meetings/{mid}/streams: 404)")
    return reply


def _start(rest: Rest, mid: str, token: str, body: dict):
    return _routed(rest.call("POST", f"/meetings/{mid}/streams", body, token))


def _stream(rest: Rest, mid: str, sid: str, token: str) -> dict:
    reply = rest.call("GET", f"/meetings/{mid}/streams/{sid}", None, token)
    assert reply.status == 200, reply.json
    return reply.json["stream"]


def _streamer_process(sid: str) -> tuple[int, dict] | None:
    """The pid and environment of the streamer process serving `sid` (started by our stack)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"bots.streamer" not in argv:
                continue
            env = dict(item.split("=", 1) for item in
                       (entry / "environ").read_bytes().decode().split("\0") if "=" in item)
        except OSError:  # gone meanwhile, or not ours
            continue
        if sid in (env.get("PARLEY_BOT_STREAM"), env.get("PARLEY_BOT_RECORDING")):
            return int(entry.name), env
    return None


def _meeting(stack):
    rest = Rest(stack.api)
    created = rest.create("Watch together")
    mid = created["meeting"]["id"]
    return rest, mid, rest.join(mid, "Host", hostKey=created["hostKey"])


def test_a_killed_streamer_restarted_with_resume_goes_on_near_the_saved_position(
        streaming_stack, run_bot, media_url):
    stack, folder = streaming_stack
    rest, mid, host = _meeting(stack)
    viewer = run_bot(Viewer(config_for(stack, mid)))
    viewer.wait_until(lambda bot: bot.me, "the viewer joined")
    reply = _start(rest, mid, host.token, {"source": media_url + "/clip.mp4", "mode": "file",
                                           "resume": True, "title": "Clip"})
    assert reply.status == 201, reply.json
    sid = reply.json["stream"]["id"]
    _until(lambda: _stream(rest, mid, sid, host.token)["state"] == "playing", "playing")
    viewer.wait_until(lambda bot: len(set(bot.numbers())) > 30, "pictures that advance")
    saved = _until(lambda: (p := _stream(rest, mid, sid, host.token)["position"]) >= 2.0 and p,
                   "a progress report")
    time.sleep(0.8)  # playing on past the saved position; the kill loses that
    pid, env = _until(lambda: _streamer_process(sid), "the launched streamer's process")
    os.kill(pid, signal.SIGKILL)
    saved = _stream(rest, mid, sid, host.token)["position"]
    tracks_before = viewer.call(lambda: viewer.bot.tracks)
    with open(folder / "restarted.log", "wb") as log:
        restarted = subprocess.Popen([sys.executable, "-m", "bots.streamer"], cwd=ROOT, env=env,
                                     stdout=log, stderr=subprocess.STDOUT)
    try:
        track = tracks_before + 1
        viewer.wait_until(lambda bot: bot.numbers(track), "pictures from the restarted streamer")
        first = viewer.call(lambda: viewer.bot.numbers(track)[0])
        assert abs(seconds_of(first) - saved) <= 2.0, (first, saved)
        assert restarted.wait(WAIT) == 0  # to the end of the file, then it leaves
    finally:
        if restarted.poll() is None:
            restarted.terminate()
            restarted.wait(30)
    stream = _stream(rest, mid, sid, host.token)
    assert stream["state"] == "ended" and stream["position"] == pytest.approx(6.0, abs=0.2)


def test_a_live_rtmp_source_plays_into_the_meeting_from_where_it_is(streaming_stack, run_bot):
    stack, _ = streaming_stack
    rest, mid, host = _meeting(stack)
    viewer = run_bot(Viewer(config_for(stack, mid)))
    viewer.wait_until(lambda bot: bot.me, "the viewer joined")
    with LiveRtmp() as live:
        at_start = live.frame
        reply = _start(rest, mid, host.token, {"source": live.url, "mode": "live",
                                               "title": "Match"})
        assert reply.status == 201, reply.json
        sid = reply.json["stream"]["id"]
        stream = _until(lambda: (s := _stream(rest, mid, sid, host.token))["state"] != "starting"
                        and s, "the streamer's first report")
        assert stream["state"] == "playing" and stream.get("duration") is None, stream
        viewer.wait_until(lambda bot: len(set(bot.numbers())) > 2 * FPS, "pictures that advance")
        numbers = viewer.call(lambda: viewer.bot.numbers())
        assert numbers[0] >= at_start and numbers == sorted(numbers)
        assert live.frame - numbers[-1] < 5 * FPS  # live: close behind the source
        assert rest.call("DELETE", f"/meetings/{mid}/streams/{sid}", None,
                         host.token).status == 202
        _until(lambda: _stream(rest, mid, sid, host.token)["state"] == "ended", "ended")
    _until(lambda: _streamer_process(sid) is None, "the streamer's process gone", 30)


@pytest.mark.parametrize("source", ["corrupt", "unreachable"])
def test_a_source_that_cannot_be_played_reaches_the_host_as_failed_with_a_reason_within_10_s(
        streaming_stack, media_url, source):
    stack, _ = streaming_stack
    rest, mid, host = _meeting(stack)
    url = media_url + "/corrupt.mp4" if source == "corrupt" else closed_port_url()
    with host.connect() as socket:
        started = time.monotonic()
        reply = _start(rest, mid, host.token, {"source": url})
        assert reply.status == 201, reply.json
        sid = reply.json["stream"]["id"]
        failed = socket.wait_for(lambda e: event("stream-updated")(e) and e["stream"]["id"] == sid
                                 and e["stream"]["state"] == "failed")
        took = time.monotonic() - started
    assert took < FAILS_WITHIN
    assert failed["stream"]["error"] and url not in failed["stream"]["error"]
    _until(lambda: _streamer_process(sid) is None, "the streamer's process gone", 30)


def _upload(rest: Rest, mid: str, token: str, path: Path) -> str:
    """The page's upload: the presigned POST from the route, the file straight to S3."""
    data = path.read_bytes()
    reply = _routed(rest.call("POST", f"/meetings/{mid}/streams/uploads",
                              {"fileName": "Lesson 1.mp4", "contentType": "video/mp4",
                               "size": len(data)}, token))
    assert reply.status == 201, reply.json
    form = reply.json["upload"]
    sent = urllib3.PoolManager().request(
        "POST", form["url"], fields={**form["fields"], "file": ("clip.mp4", data, "video/mp4")})
    assert sent.status == 204, sent.data
    return form["id"]


def test_a_hosts_page_sees_an_uploaded_clip_advance_hears_it_and_pauses_and_stops_it(
        streaming_stack, browser, clip_dir):
    stack, _ = streaming_stack
    rest = Rest(stack.api)
    created = rest.create("Lesson")
    mid = created["meeting"]["id"]
    contexts = []
    try:
        ada = open_person(browser, stack.url, contexts, init_script=CONNECTIONS)
        join_as_host(ada, mid, created["hostKey"], "Ada")
        token = ada.evaluate("JSON.parse(sessionStorage.getItem('parley.session')).token")
        upload = _upload(rest, mid, token, clip_dir / "clip.mp4")
        reply = _start(rest, mid, token, {"source": f"upload:{upload}", "loop": True})
        assert reply.status == 201, reply.json
        sid = reply.json["stream"]["id"]
        bot = _until(lambda: _stream(rest, mid, sid, token).get("botId"), "the streamer joined")
        wait_until(ada, TILE_LEVELS, bot)  # the media tile shows a picture

        seen = numbers_for(ada, bot, 3.0)
        numbers = [n for _, n in seen]
        laps = sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if b < a)
        assert laps <= 1 and len(set(numbers)) >= 10, seen
        if not laps:  # as fast as time goes
            (t0, n0), (t1, n1) = seen[0], seen[-1]
            assert (n1 - n0) / FPS == pytest.approx(t1 - t0, abs=0.6), seen
        audio = wait_until(ada, "async () => { const a = await window.__inboundAudio();"
                                " return a.level > 0.02 && a; }")
        assert audio["energy"] > 0, audio

        def ask(action):
            reply = rest.call("PATCH", f"/meetings/{mid}/streams/{sid}", {"action": action}, token)
            assert reply.status == 200, reply.json
        ask("pause")
        _until(lambda: _stream(rest, mid, sid, token)["state"] == "paused", "paused")
        ada.wait_for_timeout(500)
        held = numbers_for(ada, bot, 1.5)
        assert held and len({n for _, n in held}) == 1, held
        ask("resume")
        _until(lambda: _stream(rest, mid, sid, token)["state"] == "playing", "playing again")
        assert len({n for _, n in numbers_for(ada, bot, 1.5)}) >= 5

        assert rest.call("DELETE", f"/meetings/{mid}/streams/{sid}", None, token).status == 202
        _until(lambda: _stream(rest, mid, sid, token)["state"] == "ended", "ended")
        wait_until(ada, "pid => !document.querySelector(`.tile[data-pid='${pid}']`)", bot)
        _until(lambda: _streamer_process(sid) is None, "the streamer's process gone", 30)
        assert ada.errors == []
    finally:
        for context in contexts:
            context.close()
