"""A whole recording without a meeting: synthetic participants into the mixer, then the
server's reports (a recording function standing in for the PATCH), the file in S3 (moto)
and the callback (a local receiver), in that order."""

import asyncio

import av
import pytest

from bots.recorder import callback
from bots.recorder.recording import Recording, options
from bots.recorder.storage import RECORDING_FAILED, UPLOAD_FAILED, Store, key_for
from harness.media import ColorTrack, ToneTrack
from tests.bots.aio import run_async
from tests.bots.receivers import Receiver, s3_bucket

BUCKET = "parley-recordings-test"


@pytest.fixture
def s3(monkeypatch):
    with s3_bucket(monkeypatch, BUCKET) as client:
        yield client


def _recording(tmp_path, store, mode="av", callback_url=None, report=None):
    reports = []

    async def remember(body):
        reports.append(body)
        if report:
            await report(body)

    recording = Recording("m1", "r1", mode, True, callback_url, tmp_path / "r1", store, remember,
                          notify=_notify)
    return recording, reports


def _notify(url, body):
    return callback.notify(url, body, first_delay=0.05)


async def _run(recording, seconds):
    await recording.start()
    recording.enter("a")
    recording.attach("a", ToneTrack(440, amplitude=4000))
    recording.attach("a", ColorTrack((220, 30, 30)))
    await asyncio.sleep(seconds)
    return await asyncio.gather(recording.finish("stopped"), recording.finish("signal"))


def test_a_recording_survives_a_store_that_fails_twice_and_ends_done_with_its_callback(s3, tmp_path):
    failures = []

    def away(**kwargs):
        if len(failures) < 2:
            failures.append(1)
            raise ConnectionError("S3 is not reachable")

    s3.meta.events.register("before-call.s3.PutObject", away)
    store = Store(s3, BUCKET, first_delay=0.05)
    with Receiver(statuses=[500]) as receiver:
        recording, reports = _recording(tmp_path, store, callback_url=receiver.url)
        codes = run_async(lambda: _run(recording, 2.0))
    assert codes == [0, 0]  # asked twice to finish, finished once
    key = key_for("m1", "r1", "recording.mp4")
    size = s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
    assert [r["state"] for r in reports] == ["recording", "uploading", "done"]
    assert reports[2]["files"] == [{"file": "recording.mp4", "key": key, "status": 0, "message": "",
                                    "size": size}]
    assert not (tmp_path / "r1" / "recording.mp4").exists()
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    with av.open(str(copy)) as container:
        assert sorted(s.type for s in container.streams) == ["audio", "video"]
        assert container.duration / 1e6 == pytest.approx(2.0, rel=0.15)
    assert len(receiver.requests) == 2  # a 500 first, then delivered
    assert receiver.requests[1][1] == {"meetingId": "m1", "recordingId": "r1",
                                       "files": [{"file": "recording.mp4", "status": 0, "message": ""}]}


def test_a_store_that_stays_away_ends_failed_keeps_the_file_and_calls_back_the_failure(s3, tmp_path):
    def away(**kwargs):
        raise ConnectionError("S3 is not reachable")

    s3.meta.events.register("before-call.s3.PutObject", away)
    store = Store(s3, BUCKET, attempts=2, first_delay=0.05)
    with Receiver() as receiver:
        recording, reports = _recording(tmp_path, store, mode="audio", callback_url=receiver.url)
        codes = run_async(lambda: _run(recording, 1.0))
    assert codes == [1, 1]
    final = reports[-1]
    assert final["state"] == "failed" and final["files"][0]["status"] == UPLOAD_FAILED
    assert "S3 is not reachable" in final["error"]
    assert (tmp_path / "r1" / "recording.mp3").stat().st_size > 0  # kept for another try
    sent = receiver.requests[0][1]["files"][0]
    assert sent["status"] == UPLOAD_FAILED and "after 2 attempts" in sent["message"]


def test_a_server_that_cannot_be_told_does_not_cost_the_file(s3, tmp_path):
    async def refuse(body):
        raise ConnectionError("the API is away")

    recording, reports = _recording(tmp_path, Store(s3, BUCKET), mode="audio", report=refuse)
    assert run_async(lambda: _run(recording, 1.0)) == [0, 0]
    assert [r["state"] for r in reports] == ["recording", "uploading", "done"]
    assert s3.head_object(Bucket=BUCKET, Key=key_for("m1", "r1", "recording.mp3"))["ContentLength"]


def test_a_recording_that_never_started_ends_failed_with_nothing_stored(s3, tmp_path):
    with Receiver() as receiver:
        recording, reports = _recording(tmp_path, Store(s3, BUCKET), callback_url=receiver.url)
        assert run_async(lambda: recording.finish("not joined")) == 1
    assert [r["state"] for r in reports] == ["failed"]
    assert reports[-1]["files"][0]["status"] == RECORDING_FAILED
    assert receiver.requests[0][1]["files"] == [
        {"file": "recording.mp4", "status": RECORDING_FAILED,
         "message": "nothing was recorded (not joined)"}]
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


@pytest.mark.parametrize("raw, expected", [
    ({}, ("audio", True, None)),
    ({"mode": "av", "reserve": False, "callbackUrl": "https://example.com/x"},
     ("av", False, "https://example.com/x")),
])
def test_options_take_the_api_defaults(raw, expected):
    assert options(raw) == expected


@pytest.mark.parametrize("raw", [{"mode": "mp4"}, {"reserve": "yes"}, {"callbackUrl": 5}])
def test_bad_options_are_refused(raw):
    with pytest.raises(ValueError):
        options(raw)
