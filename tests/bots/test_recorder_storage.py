"""Storing a recording in S3 (moto's S3 server) and calling back a local HTTP receiver."""

import hashlib

import pytest

from bots.recorder import callback
from bots.recorder.storage import STORED, UPLOAD_FAILED, MiB, Store, key_for
from tests.bots.receivers import Receiver, s3_bucket

BUCKET = "parley-recordings-test"


@pytest.fixture
def s3(monkeypatch):
    with s3_bucket(monkeypatch, BUCKET) as client:
        yield client


def _file(tmp_path, size: int):
    path = tmp_path / "recording.mp4"
    path.write_bytes(hashlib.sha256(b"x").digest() * (size // 32) + b"y" * (size % 32))
    return path


def _stored(s3, key) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_a_stored_file_is_in_s3_under_its_key_and_gone_from_disk(s3, tmp_path):
    path = _file(tmp_path, 100_000)
    data = path.read_bytes()
    key = key_for("m1", "r1", path.name)
    report = Store(s3, BUCKET).put(path, key)
    assert key == "recordings/m1/r1/recording.mp4"
    assert report.json() == {"file": "recording.mp4", "key": key, "status": STORED,
                             "message": "", "size": 100_000}
    assert _stored(s3, key) == data and not path.exists()


def test_a_file_above_the_threshold_goes_up_in_parts(s3, tmp_path):
    path = _file(tmp_path, 11 * MiB)
    data = path.read_bytes()
    store = Store(s3, BUCKET, multipart_threshold=5 * MiB, part_size=5 * MiB)
    assert store.put(path, "recordings/m/r/recording.mp4").status == STORED
    head = s3.head_object(Bucket=BUCKET, Key="recordings/m/r/recording.mp4")
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    assert _stored(s3, "recordings/m/r/recording.mp4") == data


def test_uploads_that_fail_are_retried_with_backoff_and_lose_nothing(s3, tmp_path):
    path = _file(tmp_path, 300_000)
    data = path.read_bytes()
    attempts, waits = [], []

    def unavailable(**kwargs):  # the first three PutObject calls fail as a store that is away
        attempts.append(path.exists())  # the local copy is there for every attempt
        if len(attempts) <= 3:
            raise ConnectionError("S3 is not reachable")

    s3.meta.events.register("before-call.s3.PutObject", unavailable)
    report = Store(s3, BUCKET, first_delay=1.0, sleep=waits.append).put(path, "k/recording.mp4")
    assert report.status == STORED and attempts == [True] * 4
    assert len(waits) == 3 and waits[0] <= 1.0 < waits[2] <= 4.0  # growing waits
    assert _stored(s3, "k/recording.mp4") == data and not path.exists()


def test_an_upload_s3_does_not_hold_in_full_is_not_confirmed_until_it_does(s3, tmp_path):
    path = _file(tmp_path, 50_000)
    heads = []

    def short(parsed, **kwargs):  # the first HeadObject reports fewer bytes than were sent
        heads.append(parsed["ContentLength"])
        if len(heads) == 1:
            parsed["ContentLength"] -= 1

    s3.meta.events.register("after-call.s3.HeadObject", short)
    report = Store(s3, BUCKET, sleep=lambda _: None).put(path, "k/recording.mp4")
    assert report.status == STORED and len(heads) == 2 and not path.exists()


def test_a_store_that_never_answers_keeps_the_file_and_says_so(s3, tmp_path):
    path = _file(tmp_path, 1000)

    def unavailable(**kwargs):
        raise ConnectionError("S3 is not reachable")

    s3.meta.events.register("before-call.s3.PutObject", unavailable)
    report = Store(s3, BUCKET, attempts=3, sleep=lambda _: None).put(path, "k/recording.mp4")
    assert report.status == UPLOAD_FAILED and path.exists()
    assert "after 3 attempts" in report.message and str(path) in report.message


def test_a_long_error_is_cut_to_fit_the_report(s3, tmp_path):
    path = _file(tmp_path, 1000)

    def verbose(**kwargs):
        raise ConnectionError("no " * 5000)

    s3.meta.events.register("before-call.s3.PutObject", verbose)
    report = Store(s3, BUCKET, attempts=1).put(path, "k/recording.mp4")
    assert report.status == UPLOAD_FAILED and len(report.message) < 600
    assert report.message.endswith(f"kept at {path}")


FILES = [{"file": "recording.mp3", "key": "recordings/m1/r1/recording.mp3", "status": 0,
          "message": "", "size": 1234}]


def test_the_callback_has_the_documented_shape_and_is_retried_after_a_500():
    waits = []
    with Receiver(statuses=[500]) as receiver:
        ok = callback.notify(receiver.url, callback.body("m1", "r1", FILES), sleep=waits.append)
    assert ok and len(receiver.requests) == 2 and len(waits) == 1
    headers, body = receiver.requests[1]
    assert headers["Content-Type"] == "application/json"
    assert body == {"meetingId": "m1", "recordingId": "r1",
                    "files": [{"file": "recording.mp3", "status": 0, "message": ""}]}


def test_a_callback_answered_404_is_not_sent_again():
    with Receiver(statuses=[404]) as receiver:
        assert not callback.notify(receiver.url, {"x": 1}, sleep=lambda _: None)
    assert len(receiver.requests) == 1


def test_a_callback_redirect_is_not_followed():
    with Receiver() as elsewhere:
        with Receiver(statuses=[307], headers={"Location": elsewhere.url}) as redirect:
            assert not callback.notify(redirect.url, {"x": 1}, sleep=lambda _: None)
    assert len(redirect.requests) == 1 and elsewhere.requests == []


def test_a_callback_to_a_link_local_address_is_refused_without_a_request():
    assert not callback.notify("http://169.254.169.254/latest/meta-data/", {"x": 1},
                               sleep=lambda _: None)
    assert not callback.notify("file:///etc/passwd", {"x": 1}, sleep=lambda _: None)


def test_an_unreachable_callback_is_tried_the_given_number_of_times():
    waits = []
    with Receiver() as receiver:
        url = receiver.url
    assert not callback.notify(url, {"x": 1}, attempts=3, sleep=waits.append)
    assert len(waits) == 2
