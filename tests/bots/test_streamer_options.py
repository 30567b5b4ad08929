"""The streamer's input: PARLEY_BOT_OPTIONS with the API's defaults, the stream id, and
the process refusing to start (exit code 2) when they are wrong."""

import subprocess
import sys

import pytest

from bots.streamer.options import StreamOptions, stream_id
from harness.stack import ROOT


def test_options_default_to_a_resumed_file_without_loop_under_the_title_media():
    assert StreamOptions.parse({}) == StreamOptions(mode="file", loop=False, resume=True, title="Media")


def test_a_live_stream_never_loops_and_a_long_title_is_cut_to_a_participant_name():
    options = StreamOptions.parse({"mode": "live", "loop": True, "title": "  " + "x" * 60})
    assert options.live and not options.loop and options.title == "x" * 40


@pytest.mark.parametrize("raw", [{"mode": "vod"}, {"loop": "yes"}, {"resume": 1}, {"title": 5}])
def test_malformed_options_are_refused(raw):
    with pytest.raises(ValueError):
        StreamOptions.parse(raw)


def test_the_stream_id_is_read_from_its_own_setting_or_the_job_id():
    assert stream_id({"PARLEY_BOT_STREAM": "s1", "PARLEY_BOT_RECORDING": "r1"}) == "s1"
    assert stream_id({"PARLEY_BOT_RECORDING": "r1"}) == "r1"
    assert stream_id({}) is None


@pytest.mark.parametrize("env", [
    {"PARLEY_BOT_MEETING": "m1"},  # no stream
    {"PARLEY_BOT_MEETING": "m1", "PARLEY_BOT_STREAM": "s1", "PARLEY_BOT_OPTIONS": '{"mode": "tv"}'},
    {"PARLEY_BOT_STREAM": "s1"},  # no meeting
])
def test_the_process_refuses_to_start_with_exit_code_2_on_bad_settings(env):
    env = {"PARLEY_API_URL": "http://127.0.0.1:9/api", **env}
    done = subprocess.run([sys.executable, "-m", "bots.streamer"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
