"""The recorder as the local stack launches it (`python -m bots.recorder`, a subprocess, its
file in the stack's embedded S3): two people, runtime bots joined as guests that send a
synthetic camera and microphone as a page would, a host who starts and stops a recording,
and one person leaving in between. Checked: the states the host sees, the download link's
file, the callback."""

import time

import av
import pytest

from bots.runtime import Bot
from harness.http import fetch
from harness.media import ColorTrack, ToneTrack
from harness.stack import running_stack
from tests.api.stack_client import Rest
from tests.bots.receivers import Receiver
from tests.bots.recorded import COLORS, TONES, layout_of, pictures, segment, sound, tone_level

from .conftest import WAIT, config_for


@pytest.fixture(scope="module")
def recording_stack(tmp_path_factory):
    """A stack of its own whose launcher starts the real recorder."""
    folder = tmp_path_factory.mktemp("recorder-stack")
    with running_stack(folder / "devserver.log", PARLEY_BOT_WORKDIR=str(folder / "work"),
                       PARLEY_BOT_LOG_DIR=str(folder / "logs")) as stack:
        yield stack, folder


class Person(Bot):
    """A guest with camera and microphone: participant `n`'s colour and tone."""

    receive_audio = receive_video = False

    def __init__(self, config, n: int):
        super().__init__(config)
        self.outgoing_tracks = [ToneTrack(TONES[n], amplitude=4000), ColorTrack(COLORS[n], fps=15)]


def _bot_logs(folder) -> list[str]:
    return [p.read_text()[-3000:] for p in sorted((folder / "logs").glob("recorder-*.log"))]


def _until(check, what: str):
    deadline = time.monotonic() + WAIT
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {WAIT} s: {what}"
        time.sleep(0.2)
    return value


def test_a_recording_of_two_people_one_leaving_is_stored_listed_and_called_back(recording_stack,
                                                                                run_bot, tmp_path):
    stack, folder = recording_stack
    rest = Rest(stack.api)
    created = rest.create("Recorded")
    mid = created["meeting"]["id"]
    host = rest.join(mid, "Host", hostKey=created["hostKey"])  # no camera: a grey place
    people = [run_bot(Person(config_for(stack, mid, name=f"person{n}"), n)) for n in (1, 2)]
    for person in people:
        person.wait_until(lambda bot: bot.me, "the person joined")
    path = f"/meetings/{mid}/recordings"
    with Receiver() as receiver:
        started = rest.call("POST", path, {"mode": "av", "reserve": False,
                                           "callbackUrl": receiver.url}, host.token)
        assert started.status == 201, started.json
        rid = started.json["recording"]["id"]

        def state():
            return rest.call("GET", f"{path}/{rid}", None, host.token).json["recording"]["state"]

        _until(lambda: state() == "recording", "the recorder joined")
        since = time.monotonic()
        time.sleep(4)
        assert people[1].stop() == 0  # person 2 leaves; without reserve the grid closes up
        time.sleep(4)
        assert rest.call("DELETE", f"{path}/{rid}", None, host.token).status == 202
        recorded = time.monotonic() - since
        done = _until(lambda: next((r for r in rest.call("GET", path, None, host.token)
                                    .json["recordings"] if r["state"] in ("done", "failed")),
                                   None), "the recording ended")
        _until(lambda: receiver.requests, "the callback")
    assert done["state"] == "done", (done, _bot_logs(folder))
    [stored] = done["files"]
    assert stored["file"] == "recording.mp4" and stored["status"] == 0
    assert receiver.requests[0][1] == {"meetingId": mid, "recordingId": rid, "files": [
        {"file": "recording.mp4", "status": 0, "message": ""}]}
    status, _, body = fetch(stored["downloadUrl"])
    assert status == 200 and len(body) == stored["size"]
    copy = tmp_path / "recording.mp4"
    copy.write_bytes(body)
    with av.open(str(copy)) as container:
        assert sorted((s.type, s.codec_context.name) for s in container.streams) == \
            [("audio", "aac"), ("video", "h264")]
        assert container.duration / 1e6 == pytest.approx(recorded, rel=0.1)
    pics = pictures(copy)
    assert layout_of(pics[len(pics) // 3][1], 3) == [None, 1, 2]  # the host, then the two
    assert layout_of(pics[-1][1], 2) == [None, 1]
    samples, rate = sound(copy)
    end = len(samples) / rate
    early, late = segment(samples, rate, 1.5, 3.5), segment(samples, rate, end - 3, end - 0.5)
    assert [tone_level(early, rate, f) > 0.05 for f in TONES[1:3]] == [True, True]
    assert [tone_level(late, rate, f) > 0.05 for f in TONES[1:3]] == [True, False]
