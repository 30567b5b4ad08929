"""A streamer process killed mid-way and started again with `resume`, in a meeting on the
local stack, watched over WebRTC by a runtime bot joined as a guest that reads the
frame numbers of the pictures it decodes. The streamer here is the real bot joined as a
guest with its stream kept in a file (tests/fixtures/guest_streamer.py), so this runs
without the server's stream routes; test_streamer_stack.py does the same with them."""

import os
import signal
import subprocess
import sys
import time

import pytest

from harness.stack import ROOT
from tests.api.stack_client import Rest

from . import streamer_media
from .conftest import WAIT, config_for
from .streamer_media import CLIP_SECONDS, Viewer, seconds_of
from .streams import StreamRecord

clip_dir, media_url = streamer_media.clip_dir, streamer_media.media_url  # fixtures


def _streamer(stack, mid: str, record_file, log) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "AWS_"))}
    env |= {"PARLEY_API_URL": stack.api, "PARLEY_BOT_MEETING": mid,
            "PARLEY_BOT_OPTIONS": '{"mode": "file", "resume": true, "title": "Clip"}',
            "PARLEY_TEST_STREAM_FILE": str(record_file)}
    return subprocess.Popen([sys.executable, "-m", "tests.fixtures.guest_streamer"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def _until(check, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return value


def test_a_killed_streamer_process_restarted_with_resume_goes_on_within_2_s_of_the_saved_position(
        stack, run_bot, media_url, tmp_path):
    mid = Rest(stack.api).create("Watch together")["meeting"]["id"]
    viewer = run_bot(Viewer(config_for(stack, mid)))
    viewer.wait_until(lambda bot: bot.me, "the viewer joined")
    record_file = tmp_path / "stream.json"
    StreamRecord("s1", media_url + "/clip.mp4", path=record_file)
    processes = []
    try:
        with open(tmp_path / "streamer.log", "wb") as log:
            processes.append(_streamer(stack, mid, record_file, log))
            viewer.wait_until(lambda bot: len(set(bot.numbers())) > 30, "pictures that advance")
            _until(lambda: StreamRecord.load(record_file).stream["position"] >= 2.0, "a progress report")
            time.sleep(0.8)  # playing on past the saved position; the kill loses that
            processes[0].send_signal(signal.SIGKILL)
            processes[0].wait(30)
            saved = StreamRecord.load(record_file).stream["position"]
            track = viewer.call(lambda: viewer.bot.tracks) + 1
            processes.append(_streamer(stack, mid, record_file, log))
            viewer.wait_until(lambda bot: bot.numbers(track), "pictures from the restarted streamer")
            first = viewer.call(lambda: viewer.bot.numbers(track)[0])
            # within 2 s of the saved position (how close it gets is timing: not asserted)
            assert abs(seconds_of(first) - saved) <= 2.0, (
                first, saved, (tmp_path / "streamer.log").read_text()[-2000:])
            assert processes[1].wait(WAIT) == 0  # to the end of the file, then it leaves
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(30)
    final = StreamRecord.load(record_file).stream
    assert final["state"] == "ended" and final["position"] == pytest.approx(CLIP_SECONDS, abs=0.2)
