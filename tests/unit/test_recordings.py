"""Recordings in process: who may start, list, stop and report; bodies; one active
recording per meeting under concurrent starts; every state transition; a failed launch;
the end of the meeting; an abandoned recording; recording-updated pushes; download links.

The bot is played by the test: it joins with the invitation the launcher was handed
(a launcher that records jobs stands in for starting a process) and reports with PATCH.
"""

import threading
from datetime import timedelta

import pytest

from chalicelib import config, push, recording_store, recordings
from chalicelib.config import load
from chalicelib.errors import ApiError
from chalicelib.launcher import LaunchFailed
from chalicelib.models import (
    RECORDING_STATES,
    Meeting,
    Recording,
    meeting_pk,
    now,
    recording_sk,
)
from tests.fixtures.dynamo import direct_request
from tests.unit import bot_jobs
from tests.unit.bot_jobs import meeting_item, partition
from tests.unit.test_push import RecordingGateway, _connect

BOT_STATES = ("recording", "uploading", "done", "failed")


class RecordingLauncher:
    """Keeps every job it is asked to launch (a bot would be started with it)."""

    kind = "test"

    def __init__(self):
        self.jobs = []

    def launch(self, job):
        self.jobs.append(job)
        return f"job {len(self.jobs)}"


class BrokenLauncher:
    kind = "test"

    def launch(self, job):
        raise LaunchFailed("no capacity")


@pytest.fixture(autouse=True)
def recording_settings(settings_env):
    """A server that can record: a bucket and the REST base its bots call."""
    settings_env(PARLEY_API_URL="http://127.0.0.1:9/api/", PARLEY_RECORDINGS_BUCKET="parley-recordings")


@pytest.fixture
def room(client):
    """A host, a co-host made by the host, and a guest."""
    created = client.create()
    mid = created["meeting"]["id"]
    host = client.join(mid, "Hana", hostKey=created["hostKey"])
    cole, gus = client.join(mid, "Cole"), client.join(mid, "Gus")
    resp = client.call("PATCH", f"/meetings/{mid}/participants/{cole['participant']['id']}",
                       {"role": "cohost"}, token=host["token"])
    assert resp.status == 200, resp.json
    return mid, host, cole, gus


def start(mid, who, launcher=None, **body):
    """POST .../recordings as `who` through the handler: (status, body)."""
    launcher = launcher or RecordingLauncher()
    try:
        resp = recordings.start(mid, direct_request(body, who["token"]), launcher)
    except ApiError as err:
        return err.status, {"error": {"code": err.code, "message": err.message}}
    return resp.status_code, resp.body


def started(mid, who, launcher=None, **body):
    status, answer = start(mid, who, launcher, **body)
    assert status == 201, answer
    return answer["recording"]


def report(client, mid, rid, bot, **body):
    return client.call("PATCH", f"/meetings/{mid}/recordings/{rid}", body, token=bot["token"])


def stored(mid, rid):
    return Recording.get(meeting_pk(mid), recording_sk(rid), consistent_read=True)


def force_state(mid, rid, state):
    """Put a recording (and the meeting's mirror of it) in `state`, as if it got there."""
    stored(mid, rid).update(actions=[Recording.state.set(state)])
    if state in ("done", "failed"):
        meeting_item(mid).update(actions=[Meeting.recording_id.remove(),
                                          Meeting.recording_mode.remove(),
                                          Meeting.recording_state.remove()])
    else:
        meeting_item(mid).update(actions=[Meeting.recording_id.set(rid),
                                          Meeting.recording_mode.set("audio"),
                                          Meeting.recording_state.set(state)])


# --- who may ------------------------------------------------------------------------------

def test_a_guest_may_not_start_list_look_at_or_stop_recordings(client, room):
    mid, host, _, gus = room
    rec = started(mid, host)
    before = partition(mid)
    for status, answer in [start(mid, gus, mode="av")]:
        assert (status, answer["error"]["code"]) == (403, "not_host")
    for method, path in (("POST", ""), ("GET", ""), ("GET", f"/{rec['id']}"),
                         ("DELETE", f"/{rec['id']}")):
        resp = client.call(method, f"/meetings/{mid}/recordings{path}",
                           {} if method == "POST" else None, token=gus["token"])
        assert (resp.status, resp.json["error"]["code"]) == (403, "not_host"), (method, path)
    assert partition(mid) == before


def test_only_the_recordings_own_bot_may_report_on_it(client, room):
    mid, host, cole, gus = room
    launcher = RecordingLauncher()
    first = started(mid, host, launcher)
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    for who in (host, cole, gus):
        resp = report(client, mid, first["id"], who, state="recording")
        assert (resp.status, resp.json["error"]["code"]) == (403, "not_recording_bot")
    assert report(client, mid, first["id"], bot, state="failed").status == 200
    second = started(mid, cole, launcher)
    before = partition(mid)
    resp = report(client, mid, second["id"], bot, state="recording")
    assert (resp.status, resp.json["error"]["code"]) == (403, "not_recording_bot")
    resp = client.call("GET", f"/meetings/{mid}/recordings/{second['id']}", token=bot["token"])
    assert (resp.status, resp.json["error"]["code"]) == (403, "not_recording_bot")
    assert partition(mid) == before


def test_a_bot_is_no_moderator(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    started(mid, host, launcher)
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    for method, path in (("POST", "/recordings"), ("GET", "/recordings"), ("DELETE", "")):
        resp = client.call(method, f"/meetings/{mid}{path}", {} if method == "POST" else None,
                           token=bot["token"])
        assert (resp.status, resp.json["error"]["code"]) == (403, "not_host"), path


# --- bodies and availability --------------------------------------------------------------

@pytest.mark.parametrize("body", [
    {"mode": "mp4"}, {"mode": None}, {"reserve": "yes"}, {"callbackUrl": ""},
    {"callbackUrl": "https://x.example/" + "a" * 2048}, {"callbackUrl": 7}, {"extra": 1},
])
def test_a_bad_start_body_is_refused_and_stores_nothing(client, room, body):
    mid, host, _, _ = room
    before = partition(mid)
    resp = client.call("POST", f"/meetings/{mid}/recordings", body, token=host["token"])
    assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request")
    assert partition(mid) == before


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http://169.254.169.254/latest",
                                 "http://127.0.0.1:8000/hook", "https://u:p@example.com/"])
def test_a_callback_the_server_must_not_call_is_refused_and_stores_nothing(room, url):
    mid, host, _, _ = room
    before = partition(mid)
    launcher = RecordingLauncher()
    status, answer = start(mid, host, launcher, callbackUrl=url)
    assert (status, answer["error"]["code"]) == (400, "invalid_callback_url")
    assert partition(mid) == before and launcher.jobs == []


def test_without_a_launcher_or_a_bucket_recording_is_unavailable(client, room, monkeypatch):
    mid, host, _, _ = room
    before = partition(mid)
    resp = client.call("POST", f"/meetings/{mid}/recordings", {}, token=host["token"])
    assert (resp.status, resp.json["error"]["code"]) == (503, "recording_unavailable")
    monkeypatch.delenv("PARLEY_RECORDINGS_BUCKET")
    config.settings.cache_clear()
    status, answer = start(mid, host)
    assert (status, answer["error"]["code"]) == (503, "recording_unavailable")
    assert partition(mid) == before


# --- starting -----------------------------------------------------------------------------

def test_a_start_stores_a_starting_recording_and_launches_its_bot(client, room):
    mid, host, cole, _ = room
    launcher = RecordingLauncher()
    rec = started(mid, cole, launcher, mode="video", reserve=False,
                  callbackUrl="https://93.184.215.14/done")
    assert {k: rec[k] for k in ("mode", "reserve", "state", "startedBy", "files",
                                "callbackUrl")} == {
        "mode": "video", "reserve": False, "state": "starting",
        "startedBy": cole["participant"]["id"], "files": [],
        "callbackUrl": "https://93.184.215.14/done"}
    assert "startedAt" not in rec and "endedAt" not in rec and "error" not in rec
    (job,) = launcher.jobs
    assert (job.api_url, job.meeting, job.job) == ("http://127.0.0.1:9/api", mid,
                                                          rec["id"])
    assert job.options == {"mode": "video", "reserve": False,
                           "callbackUrl": "https://93.184.215.14/done"}
    meeting = client.call("GET", f"/meetings/{mid}").json["meeting"]
    assert meeting["recording"] == {"id": rec["id"], "mode": "video", "state": "starting"}
    listed = client.call("GET", f"/meetings/{mid}/recordings", token=host["token"]).json
    assert listed == {"recordings": [rec]}
    one = client.call("GET", f"/meetings/{mid}/recordings/{rec['id']}", token=host["token"])
    assert one.json == {"recording": rec}


def test_defaults_are_audio_and_reserve(room):
    mid, host, _, _ = room
    rec = started(mid, host)
    assert (rec["mode"], rec["reserve"]) == ("audio", True)
    assert "callbackUrl" not in rec


def test_one_active_recording_at_a_time_even_when_started_at_once(client, room):
    mid, host, cole, _ = room
    launcher = RecordingLauncher()
    barrier = threading.Barrier(8)
    results = []

    def go(who):
        barrier.wait()
        results.append(start(mid, who, launcher))

    threads = [threading.Thread(target=go, args=(host if n % 2 else cole,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 7
    assert {a["error"]["code"] for s, a in results if s == 409} == {"recording_active"}
    assert len(launcher.jobs) == 1
    items = [i for i in partition(mid) if i["type"]["S"] == "Recording"]
    assert len(items) == 1
    assert meeting_item(mid).recording_id == launcher.jobs[0].job


def test_a_failed_launch_fails_the_recording_and_frees_the_meeting(client, room):
    mid, host, _, _ = room
    status, answer = start(mid, host, BrokenLauncher())
    assert (status, answer["error"]["code"]) == (503, "recording_unavailable")
    (failed,) = client.call("GET", f"/meetings/{mid}/recordings",
                            token=host["token"]).json["recordings"]
    assert failed["state"] == "failed" and failed["error"] == "The recorder could not be started."
    assert "endedAt" in failed
    assert client.call("GET", f"/meetings/{mid}").json["meeting"]["recording"] is None
    assert started(mid, host)["state"] == "starting"


def test_an_abandoned_recording_gives_way_to_a_new_one(client, room):
    mid, host, _, _ = room
    stale = started(mid, host)
    status, answer = start(mid, host)
    assert (status, answer["error"]["code"]) == (409, "recording_active")
    stored(mid, stale["id"]).update(actions=[
        Recording.created_at.set(now() - recording_store.START_TIMEOUT - timedelta(seconds=1))])
    fresh = started(mid, host)
    assert stored(mid, stale["id"]).state == "failed"
    assert stored(mid, stale["id"]).error == "The recorder stopped answering."
    assert meeting_item(mid).recording_id == fresh["id"]


def test_a_recording_whose_bot_is_present_is_never_abandoned(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    rec = started(mid, host, launcher)
    join_bot(client, mid, launcher.jobs[-1].token)
    stored(mid, rec["id"]).update(actions=[
        Recording.created_at.set(now() - timedelta(hours=2))])
    status, answer = start(mid, host)
    assert (status, answer["error"]["code"]) == (409, "recording_active")
    assert stored(mid, rec["id"]).state == "starting"


# --- transitions --------------------------------------------------------------------------

def test_every_state_a_bot_may_and_may_not_report(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    rid = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    allowed = {("starting", "recording"), ("starting", "uploading"), ("starting", "failed"),
               ("recording", "uploading"), ("recording", "failed"),
               ("stopping", "uploading"), ("stopping", "failed"),
               ("uploading", "done"), ("uploading", "failed")}
    for old in RECORDING_STATES:
        for new in BOT_STATES:
            force_state(mid, rid, old)
            resp = report(client, mid, rid, bot, state=new)
            if (old, new) in allowed or old == new:  # a repeat is a retried report
                assert resp.status == 200, (old, new, resp.json)
                assert resp.json["recording"]["state"] == new
                assert stored(mid, rid).state == new
                mirror = meeting_item(mid).recording()
                assert mirror == (None if new in ("done", "failed") else
                                  {"id": rid, "mode": "audio", "state": new}), (old, new)
            else:
                assert (resp.status, resp.json["error"]["code"]) == (
                    409, "invalid_transition"), (old, new)
                assert stored(mid, rid).state == old


def test_a_bad_report_is_refused_and_changes_nothing(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    rid = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    key = f"recordings/{mid}/{rid}/recording.mp3"
    good = {"file": "recording.mp3", "key": key, "status": 0}
    before = partition(mid)
    for body in ({}, {"state": "stopping"}, {"state": "starting"}, {"state": "paused"},
                 {"files": [{**good, "extra": 1}]}, {"files": [{**good, "status": -1}]},
                 {"files": [{**good, "file": "a/b.mp3"}]}, {"files": [{"file": "x"}]},
                 {"files": [good] * 11}, {"error": "x" * 2001}, {"other": True},
                 {"files": [{**good, "key": f"recordings/{mid}/other/recording.mp3"}]},
                 {"files": [{**good, "key": f"recordings/{mid}/{rid}/../x/a.mp3"}]},
                 {"files": [{**good, "key": "elsewhere/recording.mp3"}]}):
        resp = report(client, mid, rid, bot, **body)
        assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request"), body
    assert partition(mid) == before


def test_a_bot_records_uploads_and_finishes_with_its_files(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    rid = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    rec = report(client, mid, rid, bot, state="recording").json["recording"]
    assert "startedAt" in rec and "endedAt" not in rec
    rec = report(client, mid, rid, bot, state="uploading").json["recording"]
    assert "endedAt" in rec
    files = [{"file": "recording.mp3", "key": f"recordings/{mid}/{rid}/recording.mp3",
              "status": 0, "message": "", "size": 123456},
             {"file": "part-2.mp3", "key": f"recordings/{mid}/{rid}/part-2.mp3",
              "status": 5, "message": "upload failed after 8 tries"}]
    rec = report(client, mid, rid, bot, state="done", files=files).json["recording"]
    assert rec["state"] == "done"
    listed = client.call("GET", f"/meetings/{mid}/recordings",
                         token=host["token"]).json["recordings"][0]
    ok, broken = listed["files"]
    assert {k: ok[k] for k in ("file", "status", "message", "size")} == {
        "file": "recording.mp3", "status": 0, "message": "", "size": 123456}
    assert ok["downloadUrl"].startswith("https://parley-recordings.s3")
    assert f"recordings/{mid}/{rid}/recording.mp3" in ok["downloadUrl"]
    assert broken == {"file": "part-2.mp3", "status": 5,
                      "message": "upload failed after 8 tries"}
    assert "key" not in ok and "key" not in broken
    resp = report(client, mid, rid, bot, state="done", files=files)  # a retried report
    assert resp.status == 200
    assert client.call("GET", f"/meetings/{mid}").json["meeting"]["recording"] is None


def test_a_bot_reports_after_it_left_and_after_the_meeting_ended(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    rid = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    assert report(client, mid, rid, bot, state="recording").status == 200
    assert client.call("DELETE", f"/meetings/{mid}/participants/me",
                       token=bot["token"]).status == 204
    assert client.call("DELETE", f"/meetings/{mid}", token=host["token"]).status == 204
    assert stored(mid, rid).state == "stopping"
    assert report(client, mid, rid, bot, state="uploading").status == 200
    resp = client.call("GET", f"/meetings/{mid}/recordings/{rid}", token=bot["token"])
    assert resp.status == 200 and resp.json["recording"]["state"] == "uploading"
    assert report(client, mid, rid, bot, state="done").json["recording"]["state"] == "done"
    resp = client.call("GET", f"/meetings/{mid}/recordings", token=host["token"])
    assert (resp.status, resp.json["error"]["code"]) == (410, "meeting_ended")


# --- stopping -----------------------------------------------------------------------------

def test_stop_moves_a_recording_to_stopping_once(client, room):
    mid, host, cole, _ = room
    rid = started(mid, host)["id"]
    resp = client.call("DELETE", f"/meetings/{mid}/recordings/{rid}", token=cole["token"])
    assert resp.status == 202 and resp.json["recording"]["state"] == "stopping"
    assert "endedAt" in resp.json["recording"]
    again = client.call("DELETE", f"/meetings/{mid}/recordings/{rid}", token=host["token"])
    assert again.status == 200 and again.json == resp.json
    assert meeting_item(mid).recording() == {"id": rid, "mode": "audio", "state": "stopping"}
    for state in ("uploading", "done", "failed"):
        force_state(mid, rid, state)
        resp = client.call("DELETE", f"/meetings/{mid}/recordings/{rid}", token=host["token"])
        assert resp.status == 200 and resp.json["recording"]["state"] == state
    for rid in ("9999999999999deadbeef", "not an id!"):
        resp = client.call("DELETE", f"/meetings/{mid}/recordings/{rid}", token=host["token"])
        assert (resp.status, resp.json["error"]["code"]) == (404, "recording_not_found")


def test_ending_the_meeting_stops_its_recording(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    rid = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    report(client, mid, rid, bot, state="recording")
    assert client.call("DELETE", f"/meetings/{mid}", token=host["token"]).status == 204
    assert stored(mid, rid).state == "stopping"
    assert meeting_item(mid).recording_state == "stopping"


# --- pushes -------------------------------------------------------------------------------

def test_every_state_change_is_pushed_to_everyone_without_the_callback(client, room, stream):
    mid, host, cole, gus = room
    for who, name in ((host, "hana"), (cole, "cole"), (gus, "gus")):
        _connect(mid, who["participant"]["id"], f"ws-{name}-{mid}")
    launcher = RecordingLauncher()
    rid = started(mid, host, launcher, callbackUrl="https://93.184.215.14/cb")["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    _connect(mid, bot["participant"]["id"], f"ws-bot-{mid}")
    report(client, mid, rid, bot, state="recording")
    report(client, mid, rid, bot, error="")  # no state change: nothing to tell
    client.call("DELETE", f"/meetings/{mid}/recordings/{rid}", token=host["token"])
    gateway = RecordingGateway()
    push.handle_stream({"Records": stream.records()}, push.Sender(gateway, load()))
    for name in ("hana", "cole", "gus"):
        told = [f for f in gateway.to(f"ws-{name}-{mid}") if f["event"] == "recording-updated"]
        assert [f["recording"]["state"] for f in told] == ["starting", "recording", "stopping"]
        assert all("callbackUrl" not in f["recording"] for f in told)
        assert not [f for f in gateway.to(f"ws-{name}-{mid}") if f["event"] == "meeting-updated"]
    bot_heard = [f["recording"]["state"] for f in gateway.to(f"ws-bot-{mid}")
                 if f["event"] == "recording-updated"]
    assert bot_heard[-1] == "stopping"  # the bot is present too: it hears it must stop


# --- download links against S3 ------------------------------------------------------------

def test_a_download_link_fetches_the_stored_file():
    import dataclasses
    import urllib.request

    import boto3
    from moto.server import ThreadedMotoServer

    from chalicelib.storage import Downloads

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
        s3.create_bucket(Bucket="parley-recordings")
        key = "recordings/M1/R1/recording.mp3"
        s3.put_object(Bucket="parley-recordings", Key=key, Body=b"ID3 mixed voices")
        s = dataclasses.replace(load(), recordings_bucket="parley-recordings",
                                s3_endpoint=endpoint)
        url = Downloads(s).url(key, 'my "talk".mp3')
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (loopback)
            assert resp.read() == b"ID3 mixed voices"
            assert resp.headers["Content-Disposition"] == 'attachment; filename="my talk.mp3"'
        assert Downloads(s).url("elsewhere/secret.txt", "x") is None
        assert Downloads(dataclasses.replace(s, recordings_bucket=None)).url(key, "x") is None
    finally:
        server.stop()


def join_bot(client, mid, invite, name="Recorder"):
    return bot_jobs.join_bot(client, mid, invite, name)
