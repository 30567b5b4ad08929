"""Streams in process: who may upload, start, control, list, stop and report; bodies;
size and type limits (at the upload and again when a stream uses the file); source URL
checks; one active stream per meeting under concurrent starts; every state transition;
a moderator's requests; a failed launch; the end of the meeting; an abandoned stream;
resuming where an earlier stream of the same source stopped; stream-updated pushes.

Files go to moto's S3 on a loopback port of its own (as the local stack's embedded S3).
The bot is played by the test: it joins with the invitation the launcher was handed (a
launcher that keeps jobs stands in for starting a process) and reports with PATCH.
"""

import threading
import urllib.request
from datetime import timedelta

import boto3
import pytest
import urllib3
from moto.server import ThreadedMotoServer

from chalicelib import config, push, stream_files, stream_store, streams
from chalicelib.config import load
from chalicelib.errors import ApiError
from chalicelib.models import (
    STREAM_STATES,
    Meeting,
    Stream,
    Upload,
    meeting_pk,
    now,
    stream_sk,
    streams_range,
    upload_sk,
)
from chalicelib.stream_files import StreamFiles
from tests.fixtures.dynamo import direct_request
from tests.unit import bot_jobs
from tests.unit.bot_jobs import meeting_item, partition
from tests.unit.test_push import RecordingGateway, _connect
from tests.unit.test_recordings import BrokenLauncher, RecordingLauncher

BUCKET = "parley-streams"
MAX_BYTES = 4096
BOT_STATES = ("playing", "paused", "ended", "failed")
FILM = "https://93.184.215.14/films/Big%20Match.mp4"
CLIP = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 200  # an mp4's first bytes, and then some


@pytest.fixture(scope="module")
def s3():
    """moto's S3 on a loopback port (mock_aws's exit would reset the embedded DynamoDB),
    with the streams bucket; yields its endpoint."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="local",
                 aws_secret_access_key="local").create_bucket(Bucket=BUCKET)  # noqa: S106
    yield endpoint
    server.stop()


@pytest.fixture(autouse=True)
def stream_settings(monkeypatch, s3):
    """A server that can stream: a bucket on moto's S3, a small upload limit, and the
    REST base its bots call."""
    for name, value in {"PARLEY_API_URL": "http://127.0.0.1:9/api/",
                        "PARLEY_STREAMS_BUCKET": BUCKET, "PARLEY_S3_ENDPOINT": s3,
                        "PARLEY_STREAM_MAX_BYTES": str(MAX_BYTES),
                        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        monkeypatch.setenv(name, value)
    config.settings.cache_clear()
    stream_files.stream_files.cache_clear()
    yield
    monkeypatch.undo()
    config.settings.cache_clear()
    stream_files.stream_files.cache_clear()


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


def files() -> StreamFiles:
    return stream_files.stream_files()


def _answer(call):
    try:
        resp = call()
    except ApiError as err:
        return err.status, {"error": {"code": err.code, "message": err.message}}
    return resp.status_code, resp.body


def upload(mid, who, launcher=None, **body):
    """POST .../streams/uploads as `who` through the handler: (status, body)."""
    body = {"fileName": "Clip one.mp4", "contentType": "video/mp4", "size": len(CLIP), **body}
    return _answer(lambda: streams.create_upload(mid, direct_request(body, who["token"]),
                                                 launcher or RecordingLauncher(), files()))


def start(mid, who, launcher=None, **body):
    """POST .../streams as `who` through the handler: (status, body)."""
    return _answer(lambda: streams.start(mid, direct_request(body, who["token"]),
                                         launcher or RecordingLauncher(), files()))


def started(mid, who, launcher=None, **body):
    body.setdefault("source", FILM)
    status, answer = start(mid, who, launcher, **body)
    assert status == 201, answer
    return answer["stream"]


def post_form(form, data, content_type="video/mp4"):
    """The browser's part: POST the presigned form and the file to S3."""
    resp = urllib3.PoolManager().request(
        "POST", form["url"], fields={**form["fields"], "file": ("clip.mp4", data, content_type)})
    assert resp.status in (200, 204), resp.data
    return resp


def uploaded(mid, who, data=CLIP):
    status, answer = upload(mid, who, size=len(data))
    assert status == 201, answer
    post_form(answer["upload"], data)
    return answer["upload"]["id"]


def patch(client, mid, sid, who, **body):
    return client.call("PATCH", f"/meetings/{mid}/streams/{sid}", body, token=who["token"])


def stored(mid, sid):
    return Stream.get(meeting_pk(mid), stream_sk(sid), consistent_read=True)


def force_state(mid, sid, state):
    """Put a stream (and the meeting's mirror of it) in `state`, as if it got there."""
    stream = stored(mid, sid)
    stream.update(actions=[Stream.state.set(state)])
    if state in ("ended", "failed"):
        meeting_item(mid).update(actions=[Meeting.stream_id.remove(),
                                          Meeting.stream_title.remove(),
                                          Meeting.stream_state.remove()])
    else:
        meeting_item(mid).update(actions=[Meeting.stream_id.set(sid),
                                          Meeting.stream_title.set(stream.title),
                                          Meeting.stream_state.set(state)])


# --- who may ------------------------------------------------------------------------------

def test_a_guest_may_see_streams_but_not_upload_start_control_or_stop_them(client, room):
    mid, host, _, gus = room
    sid = started(mid, host)["id"]
    before = partition(mid)
    for status, answer in (upload(mid, gus), start(mid, gus, source="https://93.184.215.14/a")):
        assert (status, answer["error"]["code"]) == (403, "not_host")
    for method, path, body in (("POST", "/uploads", {}), ("POST", "", {}),
                               ("PATCH", f"/{sid}", {"action": "pause"}),
                               ("DELETE", f"/{sid}", None)):
        resp = client.call(method, f"/meetings/{mid}/streams{path}", body, token=gus["token"])
        assert (resp.status, resp.json["error"]["code"]) == (403, "not_host"), (method, path)
    assert partition(mid) == before
    listed = client.call("GET", f"/meetings/{mid}/streams", token=gus["token"])
    assert [s["id"] for s in listed.json["streams"]] == [sid]
    one = client.call("GET", f"/meetings/{mid}/streams/{sid}", token=gus["token"]).json["stream"]
    assert one["title"] == "Big Match" and "sourceUrl" not in one
    resp = client.call("GET", f"/meetings/{mid}/streams/nosuch", token=gus["token"])
    assert (resp.status, resp.json["error"]["code"]) == (404, "stream_not_found")


def test_only_the_streams_own_bot_reports_and_reads_its_source(client, room):
    mid, host, cole, gus = room
    launcher = RecordingLauncher()
    sid = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    resp = patch(client, mid, sid, gus, state="playing")
    assert (resp.status, resp.json["error"]["code"]) == (403, "not_host")
    for who in (host, cole):  # a moderator's PATCH is a request for the bot, not a report
        resp = patch(client, mid, sid, who, state="playing")
        assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request")
    own = client.call("GET", f"/meetings/{mid}/streams/{sid}", token=bot["token"]).json["stream"]
    assert own["sourceUrl"] == FILM
    assert patch(client, mid, sid, bot, state="failed", error="gone").status == 200
    second = started(mid, cole, launcher)["id"]
    before = partition(mid)
    resp = patch(client, mid, second, bot, state="playing")
    assert (resp.status, resp.json["error"]["code"]) == (403, "not_stream_bot")
    other = client.call("GET", f"/meetings/{mid}/streams/{second}", token=bot["token"])
    assert "sourceUrl" not in other.json["stream"]  # present: it may look, not read
    assert partition(mid) == before


def test_a_bot_is_no_moderator(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    sid = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    for method, path in (("POST", ""), ("POST", "/uploads"), ("DELETE", f"/{sid}")):
        resp = client.call(method, f"/meetings/{mid}/streams{path}",
                           {} if method == "POST" else None, token=bot["token"])
        assert (resp.status, resp.json["error"]["code"]) == (403, "not_host"), path


# --- bodies, limits and availability ------------------------------------------------------

@pytest.mark.parametrize("path, body", [
    ("/uploads", {"fileName": "a.mp4", "contentType": "video/mp4"}),
    ("/uploads", {"fileName": "", "contentType": "video/mp4", "size": 5}),
    ("/uploads", {"fileName": "a" * 201, "contentType": "video/mp4", "size": 5}),
    ("/uploads", {"fileName": "a.mp4", "contentType": "video/mp4", "size": 0}),
    ("/uploads", {"fileName": "a.mp4", "contentType": "video/mp4", "size": 1.5}),
    ("/uploads", {"fileName": "a\x00.mp4", "contentType": "video/mp4", "size": 5}),
    ("/uploads", {"fileName": "a.mp4", "contentType": "video/mp4", "size": 5, "key": "x"}),
    ("", {}), ("", {"source": ""}), ("", {"source": "h" * 2049}),
    ("", {"source": "https://93.184.215.14/a.mp4", "mode": "vod"}),
    ("", {"source": "https://93.184.215.14/a.mp4", "loop": "yes"}),
    ("", {"source": "https://93.184.215.14/a.mp4", "resume": 1}),
    ("", {"source": "https://93.184.215.14/a.mp4", "title": "t" * 41}),
    ("", {"source": "https://93.184.215.14/a.mp4", "title": "   "}),
    ("", {"source": "https://93.184.215.14/a.mp4", "mode": "live", "loop": True}),
    ("", {"source": "upload:abc", "mode": "live"}),
    ("", {"source": "https://93.184.215.14/a.mp4", "extra": 1}),
])
def test_a_bad_body_is_refused_and_stores_nothing(room, path, body):
    mid, host, _, _ = room
    before = partition(mid)
    handler = streams.create_upload if path else streams.start
    status, answer = _answer(lambda: handler(mid, direct_request(body, host["token"]),
                                             RecordingLauncher(), files()))
    assert (status, answer["error"]["code"]) == (400, "invalid_request"), answer
    assert partition(mid) == before


def test_an_upload_over_the_limit_or_of_another_type_is_refused_before_anything_is_stored(room):
    mid, host, _, _ = room
    before = partition(mid)
    status, answer = upload(mid, host, size=MAX_BYTES + 1)
    assert (status, answer["error"]["code"]) == (413, "upload_too_large")
    assert str(MAX_BYTES) in answer["error"]["message"]
    for kind in ("text/html", "image/png", "application/x-mpegURL", "video/mp4; x=1"):
        status, answer = upload(mid, host, contentType=kind)
        assert (status, answer["error"]["code"]) == (400, "unsupported_media_type"), kind
    assert partition(mid) == before


def test_an_upload_is_a_form_for_one_key_of_this_meeting_and_its_file_plays(client, room):
    mid, host, _, _ = room
    status, answer = upload(mid, host, fileName="../../Big Match (final).mp4", size=100)
    assert status == 201, answer
    form = answer["upload"]
    assert form["maxBytes"] == MAX_BYTES and form["expiresAt"].endswith("Z")
    key = form["fields"]["key"]
    assert key == f"streams/{mid}/uploads/{form['id']}/Big_Match_final_.mp4"
    assert form["fields"]["Content-Type"] == "video/mp4"
    assert form["url"].startswith(config.settings().s3_endpoint)
    item = Upload.get(meeting_pk(mid), upload_sk(form["id"]))
    assert (item.key, item.content_type, item.size) == (key, "video/mp4", 100)

    source = f"upload:{form['id']}"
    status, answer = start(mid, host, source=source)
    assert (status, answer["error"]["code"]) == (400, "upload_not_found")  # not sent yet
    post_form(form, CLIP)
    launcher = RecordingLauncher()
    stream = started(mid, host, launcher, source=source)
    assert (stream["sourceKind"], stream["title"], stream["mode"]) == (
        "upload", "../../Big Match (final)", "file")
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    link = client.call("GET", f"/meetings/{mid}/streams/{stream['id']}",
                       token=bot["token"]).json["stream"]["sourceUrl"]
    with urllib.request.urlopen(link) as got:  # noqa: S310 (moto's S3 on loopback)
        assert got.read() == CLIP


def test_a_stored_file_is_checked_again_when_a_stream_uses_it(client, room):
    mid, host, _, _ = room
    other = client.create()
    other_host = client.join(other["meeting"]["id"], "Olga", hostKey=other["hostKey"])
    theirs = uploaded(other["meeting"]["id"], other_host)
    status, answer = start(mid, host, source=f"upload:{theirs}")
    assert (status, answer["error"]["code"]) == (400, "upload_not_found")
    for source in ("upload:", "upload:../x", "upload:nosuchupload"):
        status, answer = start(mid, host, source=source)
        assert (status, answer["error"]["code"]) == (400, "upload_not_found"), source

    s3 = files()._s3()
    big = uploaded(mid, host)
    item = Upload.get(meeting_pk(mid), upload_sk(big))
    s3.put_object(Bucket=BUCKET, Key=item.key, Body=b"x" * (MAX_BYTES + 1),
                  ContentType="video/mp4")  # written another way than the form
    status, answer = start(mid, host, source=f"upload:{big}")
    assert (status, answer["error"]["code"]) == (413, "upload_too_large")
    page = uploaded(mid, host)
    item = Upload.get(meeting_pk(mid), upload_sk(page))
    s3.put_object(Bucket=BUCKET, Key=item.key, Body=b"<html>", ContentType="text/html")
    status, answer = start(mid, host, source=f"upload:{page}")
    assert (status, answer["error"]["code"]) == (400, "unsupported_media_type")
    assert meeting_item(mid).stream() is None


@pytest.mark.parametrize("url, why", [
    ("ftp://93.184.215.14/a.mp4", "http, https, rtmp or rtmps"),
    ("file:///etc/passwd", "http, https, rtmp or rtmps"),
    ("https://u:p@93.184.215.14/a.mp4", "user name or password"),
    ("http://169.254.169.254/latest/meta-data", "not a public address"),
    ("http://127.0.0.1:8000/a.mp4", "not a public address"),
    ("rtmp://10.1.2.3/live/key", "not a public address"),
    ("https://[::ffff:192.168.1.1]/a.m3u8", "not a public address"),
    ("https://no-such-host.invalid/a.mp4", "cannot be resolved"),
    ("https://93.184.215.14/a b.mp4", "spaces"),
])
def test_a_source_url_the_bot_must_not_read_is_refused_and_stores_nothing(room, url, why):
    mid, host, _, _ = room
    before = partition(mid)
    launcher = RecordingLauncher()
    status, answer = start(mid, host, launcher, source=url)
    assert (status, answer["error"]["code"]) == (400, "invalid_source_url")
    assert why in answer["error"]["message"]
    assert partition(mid) == before and launcher.jobs == []


def test_the_local_stack_may_play_sources_on_this_machine(room, monkeypatch):
    mid, host, _, _ = room
    monkeypatch.setenv("PARLEY_ALLOW_PRIVATE_SOURCES", "1")
    config.settings.cache_clear()
    stream = started(mid, host, source="http://127.0.0.1:9/clip.mp4")
    assert stream["title"] == "clip"
    stream_store.store.fail(stored(mid, stream["id"]), "done with it")
    # not looked up: its bot fails it when it cannot reach it
    stream = started(mid, host, source="http://no-such-host.invalid/live.m3u8", mode="live")
    assert (stream["mode"], stream["title"]) == ("live", "live")
    stream_store.store.fail(stored(mid, stream["id"]), "done with it")
    stream = started(mid, host, source="rtmp://127.0.0.1/live/s3cr3t-key", mode="live")
    assert stream["title"] == "127.0.0.1"  # never the stream key
    status, answer = start(mid, host, source="gopher://127.0.0.1/x")
    assert (status, answer["error"]["code"]) == (400, "invalid_source_url")


def test_without_a_launcher_or_a_bucket_streaming_is_unavailable(client, room, monkeypatch):
    mid, host, _, _ = room
    before = partition(mid)
    resp = client.call("POST", f"/meetings/{mid}/streams/uploads",
                       {"fileName": "a.mp4", "contentType": "video/mp4", "size": 5},
                       token=host["token"])  # the app has no launcher in these tests
    assert (resp.status, resp.json["error"]["code"]) == (503, "streaming_unavailable")
    resp = client.call("POST", f"/meetings/{mid}/streams",
                       {"source": "https://93.184.215.14/a.mp4"}, token=host["token"])
    assert (resp.status, resp.json["error"]["code"]) == (503, "streaming_unavailable")
    monkeypatch.delenv("PARLEY_STREAMS_BUCKET")
    config.settings.cache_clear()
    stream_files.stream_files.cache_clear()
    for status, answer in (upload(mid, host), start(mid, host, source="https://93.184.215.14/a")):
        assert (status, answer["error"]["code"]) == (503, "streaming_unavailable")
    assert partition(mid) == before


# --- starting -----------------------------------------------------------------------------

def test_a_start_stores_a_starting_stream_and_launches_its_bot(client, room):
    mid, host, cole, gus = room
    launcher = RecordingLauncher()
    stream = started(mid, cole, launcher, source="rtmp://93.184.215.14/live/match",
                     mode="live", title="The final", resume=False)
    assert stream == {"id": stream["id"], "mode": "live", "title": "The final",
                      "state": "starting", "position": 0, "loop": False,
                      "startedBy": cole["participant"]["id"], "createdAt": stream["createdAt"],
                      "sourceKind": "url"}
    (job,) = launcher.jobs
    assert (job.kind, job.api_url, job.meeting, job.job) == (
        "streamer", "http://127.0.0.1:9/api", mid, stream["id"])
    assert job.options == {"mode": "live", "loop": False, "resume": False, "title": "The final"}
    assert meeting_item(mid).stream() == {"id": stream["id"], "title": "The final",
                                          "state": "starting"}
    bot = join_bot(client, mid, job.token, name="The final")
    me = bot["participant"]
    assert (me["role"], me["bot"], me["streamId"], me["recordingId"]) == (
        "bot", "streamer", stream["id"], None)
    assert me["audio"] is True and me["video"] is True  # it sends what it plays
    shown = client.call("GET", f"/meetings/{mid}/streams/{stream['id']}",
                        token=gus["token"]).json["stream"]
    assert shown["botId"] == me["id"]
    meeting = client.call("GET", f"/meetings/{mid}").json["meeting"]
    assert meeting["stream"] == {"id": stream["id"], "title": "The final", "state": "starting"}


def test_one_active_stream_at_a_time_even_when_started_at_once(client, room):
    mid, host, cole, _ = room
    launcher = RecordingLauncher()
    results, barrier = [], threading.Barrier(8)

    def go(who):
        barrier.wait()
        results.append(start(mid, who, launcher, source="https://93.184.215.14/a.mp4"))

    threads = [threading.Thread(target=go, args=(host if n % 2 else cole,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(status for status, _ in results) == [201] + [409] * 7
    assert {a["error"]["code"] for s, a in results if s == 409} == {"stream_active"}
    assert len(launcher.jobs) == 1
    assert len([i for i in partition(mid) if i["type"]["S"] == "Stream"]) == 1
    assert meeting_item(mid).stream_id == launcher.jobs[0].job


def test_a_failed_launch_fails_the_stream_and_frees_the_meeting(room):
    mid, host, _, _ = room
    status, answer = start(mid, host, BrokenLauncher(), source="https://93.184.215.14/a.mp4")
    assert (status, answer["error"]["code"]) == (503, "streaming_unavailable")
    (failed,) = Stream.query(meeting_pk(mid), streams_range())
    assert (failed.state, failed.error) == ("failed", "The streamer could not be started.")
    assert meeting_item(mid).stream() is None
    started(mid, host)


def test_an_abandoned_stream_gives_way_to_a_new_one(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    stale = started(mid, host, launcher)
    status, answer = start(mid, host, source=FILM)
    assert (status, answer["error"]["code"]) == (409, "stream_active")
    stored(mid, stale["id"]).update(actions=[
        Stream.created_at.set(now() - stream_store.START_TIMEOUT - timedelta(seconds=1))])
    fresh = started(mid, host, launcher)
    assert (stored(mid, stale["id"]).state, stored(mid, stale["id"]).error) == (
        "failed", "The streamer stopped answering.")
    assert meeting_item(mid).stream_id == fresh["id"]

    # playing with its bot gone and silent: abandoned too; with its bot present: never
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    assert patch(client, mid, fresh["id"], bot, state="playing").status == 200
    stored(mid, fresh["id"]).update(actions=[
        Stream.progress_at.set(now() - stream_store.SILENCE_TIMEOUT - timedelta(seconds=1))])
    status, answer = start(mid, host, source=FILM)
    assert (status, answer["error"]["code"]) == (409, "stream_active")
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=bot["token"])
    started(mid, host)
    assert stored(mid, fresh["id"]).state == "failed"


# --- transitions and requests -------------------------------------------------------------

def test_every_state_a_bot_may_and_may_not_report(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    sid = started(mid, host, launcher, title="Clip")["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    allowed = {("starting", "playing"), ("starting", "failed"),
               ("playing", "paused"), ("playing", "ended"), ("playing", "failed"),
               ("paused", "playing"), ("paused", "ended"), ("paused", "failed"),
               ("stopping", "ended"), ("stopping", "failed")}
    for old in STREAM_STATES:
        for new in BOT_STATES:
            force_state(mid, sid, old)
            resp = patch(client, mid, sid, bot, state=new)
            if (old, new) in allowed or old == new:  # a repeat is a retried report
                assert resp.status == 200, (old, new, resp.json)
                assert stored(mid, sid).state == new
                assert meeting_item(mid).stream() == (
                    None if new in ("ended", "failed") else
                    {"id": sid, "title": "Clip", "state": new}), (old, new)
                if old != new:
                    assert ("endedAt" in resp.json["stream"]) == (new in ("ended", "failed"))
            else:
                assert (resp.status, resp.json["error"]["code"]) == (
                    409, "invalid_transition"), (old, new)
                assert stored(mid, sid).state == old
            stored(mid, sid).update(actions=[Stream.ended_at.remove()])


def test_the_bot_reports_progress_length_and_errors(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    sid = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    resp = patch(client, mid, sid, bot, state="playing", position=0.5, duration=93.25)
    assert (resp.json["stream"]["position"], resp.json["stream"]["duration"]) == (0.5, 93.25)
    soon = patch(client, mid, sid, bot, position=0.9)  # too soon after the last: not stored
    assert soon.status == 200 and stored(mid, sid).position == 0.5
    stored(mid, sid).update(actions=[Stream.progress_at.set(now() - timedelta(seconds=2))])
    assert patch(client, mid, sid, bot, position=2.5).json["stream"]["position"] == 2.5
    resp = patch(client, mid, sid, bot, duration=None, error="stalled; retrying")
    assert "duration" not in resp.json["stream"] and resp.json["stream"]["error"]
    assert "error" not in patch(client, mid, sid, bot, error="").json["stream"]
    before = partition(mid)
    for body in ({}, {"state": "stopping"}, {"position": -1}, {"position": "1"},
                 {"error": "e" * 501}, {"duration": -3}, {"action": "pause"}):
        resp = patch(client, mid, sid, bot, **body)
        assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request"), body
    assert partition(mid) == before


def test_a_moderator_asks_the_bot_to_pause_resume_seek_and_stop(client, room):
    mid, host, cole, _ = room
    launcher = RecordingLauncher()
    sid = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    patch(client, mid, sid, bot, state="playing", duration=60)
    resp = patch(client, mid, sid, cole, action="pause")
    asked = resp.json["stream"]["requested"]
    assert resp.status == 200 and asked["action"] == "pause" and asked["at"].endswith("Z")
    assert stored(mid, sid).state == "playing"  # the bot pauses, then says so
    resp = patch(client, mid, sid, host, action="seek", position=42.5)
    assert {k: v for k, v in resp.json["stream"]["requested"].items() if k != "at"} == {
        "action": "seek", "position": 42.5}
    before = partition(mid)
    resp = patch(client, mid, sid, host, action="seek", position=61)
    assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request")
    for body in ({"action": "seek"}, {"action": "pause", "position": 3}, {"action": "rewind"},
                 {"action": "stop", "state": "ended"}):
        resp = patch(client, mid, sid, host, **body)
        assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request"), body
    assert partition(mid) == before
    assert patch(client, mid, sid, host, action="resume").json["stream"]["requested"][
        "action"] == "resume"
    resp = patch(client, mid, sid, host, action="stop")
    assert resp.status == 200 and resp.json["stream"]["state"] == "stopping"
    assert resp.json["stream"]["requested"]["action"] == "stop"
    for action in ("pause", "resume"):
        resp = patch(client, mid, sid, host, action=action)
        assert (resp.status, resp.json["error"]["code"]) == (409, "invalid_transition")
    assert patch(client, mid, sid, host, action="stop").status == 200  # again: unchanged


def test_a_live_stream_cannot_pause_or_seek(client, room):
    mid, host, _, _ = room
    sid = started(mid, host, source="https://93.184.215.14/live/index.m3u8", mode="live")["id"]
    before = partition(mid)
    for body in ({"action": "pause"}, {"action": "seek", "position": 3}):
        resp = patch(client, mid, sid, host, **body)
        assert (resp.status, resp.json["error"]["code"]) == (409, "not_seekable"), body
    assert partition(mid) == before
    assert patch(client, mid, sid, host, action="resume").status == 200


def test_stop_moves_a_stream_to_stopping_once(client, room):
    mid, host, _, _ = room
    sid = started(mid, host)["id"]
    resp = client.call("DELETE", f"/meetings/{mid}/streams/{sid}", token=host["token"])
    assert resp.status == 202 and resp.json["stream"]["state"] == "stopping"
    assert meeting_item(mid).stream()["state"] == "stopping"
    resp = client.call("DELETE", f"/meetings/{mid}/streams/{sid}", token=host["token"])
    assert resp.status == 200 and resp.json["stream"]["state"] == "stopping"
    resp = client.call("DELETE", f"/meetings/{mid}/streams/nosuch", token=host["token"])
    assert (resp.status, resp.json["error"]["code"]) == (404, "stream_not_found")


def test_ending_the_meeting_stops_its_stream_and_its_bot_still_reports(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    sid = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    patch(client, mid, sid, bot, state="playing")
    assert client.call("DELETE", f"/meetings/{mid}", token=host["token"]).status == 204
    assert stored(mid, sid).state == "stopping"
    resp = patch(client, mid, sid, bot, state="ended", position=12)
    assert resp.status == 200 and resp.json["stream"]["state"] == "ended"


def test_resume_goes_on_where_the_last_stream_of_the_same_file_stopped(client, room):
    mid, host, _, _ = room
    launcher = RecordingLauncher()
    first = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    patch(client, mid, first, bot, state="playing", position=31.5, duration=60)
    patch(client, mid, first, bot, state="failed", error="the bot crashed")
    assert started(mid, host, launcher)["position"] == 31.5
    stream_store.store.fail(stored(mid, launcher.jobs[-1].job), "again")
    assert started(mid, host, launcher, resume=False)["position"] == 0
    stream_store.store.fail(stored(mid, launcher.jobs[-1].job), "again")
    other = started(mid, host, launcher, source="https://93.184.215.14/other.mp4")
    assert other["position"] == 0
    stream_store.store.fail(stored(mid, other["id"]), "again")
    # one played to its end starts from the beginning
    done = started(mid, host, launcher, source="https://93.184.215.14/short.mp4")["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    patch(client, mid, done, bot, state="playing", position=9.6, duration=10)
    patch(client, mid, done, bot, state="ended")
    assert started(mid, host, source="https://93.184.215.14/short.mp4")["position"] == 0


# --- pushes -------------------------------------------------------------------------------

def test_every_change_is_pushed_to_everyone_without_the_source(client, room, stream):
    mid, host, cole, gus = room
    for who, name in ((host, "hana"), (cole, "cole"), (gus, "gus")):
        _connect(mid, who["participant"]["id"], f"ws-{name}-{mid}")
    launcher = RecordingLauncher()
    sid = started(mid, host, launcher)["id"]
    bot = join_bot(client, mid, launcher.jobs[-1].token)
    _connect(mid, bot["participant"]["id"], f"ws-bot-{mid}")
    patch(client, mid, sid, bot, state="playing", position=1)
    patch(client, mid, sid, host, action="pause")
    patch(client, mid, sid, bot, state="paused", position=1.5)
    patch(client, mid, sid, bot, error="")  # nothing anyone sees changed: nothing to tell
    client.call("DELETE", f"/meetings/{mid}/streams/{sid}", token=host["token"])
    gateway = RecordingGateway()
    push.handle_stream({"Records": stream.records()}, push.Sender(gateway, load()))
    for name in ("hana", "cole", "gus", "bot"):
        told = [f["stream"] for f in gateway.to(f"ws-{name}-{mid}")
                if f["event"] == "stream-updated"]
        seen = [(s["state"], s.get("requested", {}).get("action"), s["position"]) for s in told]
        assert seen[-4:] == [("playing", None, 1), ("playing", "pause", 1),
                             ("paused", "pause", 1.5), ("stopping", "stop", 1.5)], name
        assert all("sourceUrl" not in s and "source" not in s for s in told)
        assert told[0]["state"] == "starting" and "botId" not in told[0]
        assert not [f for f in gateway.to(f"ws-{name}-{mid}") if f["event"] == "meeting-updated"]



def join_bot(client, mid, invite, name="Big Match"):
    return bot_jobs.join_bot(client, mid, invite, name)
