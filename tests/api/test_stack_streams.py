"""Streams over real HTTP and WebSocket against a local stack of its own, whose launcher
starts a stand-in bot (tests/fixtures/fake_recorder.py) that writes down how it was
started: the test reads the invitation from it and plays the streamer itself. A file is
uploaded through the presigned POST to the stack's embedded S3 (one over the limit is
refused at the route and by S3's own size condition, and is never stored); a guest's
start is refused; the host's start launches the streamer with the contract's
environment; it joins, reads its file and reports; a moderator's requests and the bot's
progress reach everyone as stream-updated; stopping and ending the meeting stop it."""

import json
import time
import urllib.request

import pytest
import urllib3

from harness.http import TIMEOUT
from harness.stack import running_stack

from .stack_client import Participant, event, joined

FAKE_BOT = "tests.fixtures.fake_recorder"
MAX_BYTES = 64 * 1024
CLIP = b"\x1aE\xdf\xa3" + bytes(range(256)) * 40  # a WebM's first bytes, ~10 KB


@pytest.fixture(scope="module")
def bot_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("streamers")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, bot_dir):
    """This module's stack (the `room` fixture runs on it too): bots are the stand-in,
    uploads are at most MAX_BYTES."""
    log = tmp_path_factory.mktemp("stream-stack") / "devserver.log"
    with running_stack(log, PARLEY_BOT_MODULE=FAKE_BOT, PARLEY_BOT_WORKDIR=str(bot_dir),
                       PARLEY_STREAM_MAX_BYTES=str(MAX_BYTES),
                       PARLEY_BOT_LOG_DIR=str(bot_dir / "logs")) as running:
        yield running


def launched(bot_dir, sid) -> dict:
    """What the stand-in bot of stream `sid` wrote down when it was started."""
    path = bot_dir / f"{sid}.json"
    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        assert time.monotonic() < deadline, f"no bot was started for stream {sid}"
        time.sleep(0.05)
    return json.loads(path.read_text())


def stream_event(sid, state, action=None):
    return lambda e: (e.get("event") == "stream-updated" and e["stream"]["id"] == sid
                      and e["stream"]["state"] == state
                      and (action is None or e["stream"].get("requested", {}).get("action")
                           == action))


def call(who, method, path="", body=None):
    return who.rest.call(method, f"/meetings/{who.mid}/streams{path}", body, who.token)


def upload_form(who, data=CLIP, **body):
    return call(who, "POST", "/uploads", {"fileName": "Lesson 1.webm",
                                          "contentType": "video/webm", "size": len(data),
                                          **body})


def send(form, data, origin=None):
    """The browser's part: the presigned form's fields, then the file, to S3."""
    return urllib3.PoolManager().request(
        "POST", form["url"], fields={**form["fields"], "file": ("clip.webm", data, "video/webm")},
        headers={"Origin": origin} if origin else {})


def test_a_file_over_the_limit_is_refused_before_it_is_stored(stack, room):
    (hana, gus, _), _ = room
    reply = upload_form(gus)
    assert (reply.status, reply.json["error"]["code"]) == (403, "not_host")
    reply = upload_form(hana, size=MAX_BYTES + 1)
    assert (reply.status, reply.json["error"]["code"]) == (413, "upload_too_large")
    reply = upload_form(hana, contentType="text/html")
    assert (reply.status, reply.json["error"]["code"]) == (400, "unsupported_media_type")

    # a page that declares a small file and sends a big one: S3's content-length-range
    reply = upload_form(hana)
    assert reply.status == 201, reply.json
    form = reply.json["upload"]
    assert form["maxBytes"] == MAX_BYTES
    refused = send(form, b"x" * (MAX_BYTES + 1), origin=stack.url)
    assert refused.status == 400 and "<Code>EntityTooLarge</Code>" in refused.data.decode()
    assert refused.headers["Access-Control-Allow-Origin"] == stack.url  # the page sees why
    reply = call(hana, "POST", "", {"source": f"upload:{form['id']}"})
    assert (reply.status, reply.json["error"]["code"]) == (400, "upload_not_found")


def test_an_uploaded_file_is_streamed_by_its_bot_and_everyone_hears_how_it_goes(
        stack, room, bot_dir):
    (hana, gus, ola), sockets = room
    form = upload_form(hana).json["upload"]
    stored = send(form, CLIP, origin=stack.url)
    assert stored.status == 204 and stored.headers["Access-Control-Allow-Origin"] == stack.url

    reply = call(gus, "POST", "", {"source": f"upload:{form['id']}"})
    assert (reply.status, reply.json["error"]["code"]) == (403, "not_host")
    reply = call(hana, "POST", "", {"source": f"upload:{form['id']}", "loop": True})
    assert reply.status == 201, reply.json
    stream = reply.json["stream"]
    sid = stream["id"]
    assert (stream["title"], stream["state"], stream["sourceKind"], stream["loop"]) == (
        "Lesson 1", "starting", "upload", True)
    for ws in sockets:
        ws.wait_for(stream_event(sid, "starting"))
    meeting = hana.rest.call("GET", f"/meetings/{hana.mid}").json["meeting"]
    assert meeting["stream"] == {"id": sid, "title": "Lesson 1", "state": "starting"}
    reply = call(hana, "POST", "", {"source": "https://93.184.215.14/other.mp4"})
    assert (reply.status, reply.json["error"]["code"]) == (409, "stream_active")

    env = launched(bot_dir, sid)["env"]
    assert {k: env[k] for k in ("PARLEY_API_URL", "PARLEY_BOT_KIND", "PARLEY_BOT_MEETING",
                                "PARLEY_BOT_STREAM", "AWS_REGION")} == {
        "PARLEY_API_URL": stack.api, "PARLEY_BOT_KIND": "streamer",
        "PARLEY_BOT_MEETING": hana.mid, "PARLEY_BOT_STREAM": sid, "AWS_REGION": "us-east-1"}
    assert json.loads(env["PARLEY_BOT_OPTIONS"]) == {"mode": "file", "loop": True,
                                                     "resume": True, "title": "Lesson 1"}
    assert "PARLEY_BOT_RECORDING" not in env and "PARLEY_JWT_SECRET" not in env
    log = bot_dir / "logs" / f"streamer-{hana.mid}-{sid}.log"
    assert "fake streamer for" in log.read_text()

    reply = hana.rest.call("POST", f"/meetings/{hana.mid}/join",
                           {"name": "Lesson 1", "botToken": env["PARLEY_BOT_TOKEN"]})
    assert reply.status == 200, reply.json
    bot = Participant(hana.rest, hana.mid, reply.json)
    for ws in sockets:
        seen = ws.wait_for(joined(bot.pid))["participant"]
        assert (seen["bot"], seen["streamId"], seen["audio"], seen["video"]) == (
            "streamer", sid, True, True)
    own = call(bot, "GET", f"/{sid}").json["stream"]
    assert own["botId"] == bot.pid
    with urllib.request.urlopen(own["sourceUrl"]) as got:  # noqa: S310 (the embedded S3)
        assert got.read() == CLIP
    assert "sourceUrl" not in call(gus, "GET", f"/{sid}").json["stream"]

    with bot.connect() as bot_ws:
        reply = call(bot, "PATCH", f"/{sid}", {"state": "playing", "position": 0,
                                               "duration": 12.5})
        assert reply.status == 200, reply.json
        for ws in (*sockets, bot_ws):
            ws.wait_for(stream_event(sid, "playing"))
        assert call(hana, "PATCH", f"/{sid}", {"action": "pause"}).status == 200
        for ws in (*sockets, bot_ws):  # the bot hears what it is asked to do
            ws.wait_for(stream_event(sid, "playing", action="pause"))
        assert call(bot, "PATCH", f"/{sid}", {"state": "paused", "position": 3.5}).status == 200
        reply = call(hana, "PATCH", f"/{sid}", {"action": "seek", "position": 8})
        assert reply.json["stream"]["requested"]["position"] == 8
        bot_ws.wait_for(stream_event(sid, "paused", action="seek"))
        reply = call(gus, "PATCH", f"/{sid}", {"action": "resume"})
        assert (reply.status, reply.json["error"]["code"]) == (403, "not_host")
        reply = call(hana, "PATCH", f"/{sid}", {"state": "ended"})
        assert (reply.status, reply.json["error"]["code"]) == (400, "invalid_request")
        listed = call(ola, "GET").json["streams"]
        assert [(s["id"], s["state"], s["position"]) for s in listed][0] == (sid, "paused", 3.5)

        reply = call(hana, "DELETE", f"/{sid}")
        assert reply.status == 202 and reply.json["stream"]["state"] == "stopping"
        for ws in (*sockets, bot_ws):
            ws.wait_for(stream_event(sid, "stopping", action="stop"))
    bot.leave()
    reply = call(bot, "PATCH", f"/{sid}", {"state": "ended", "position": 3.5})
    assert reply.status == 200 and reply.json["stream"]["state"] == "ended"
    for ws in sockets:
        ws.wait_for(stream_event(sid, "ended"))
    assert hana.rest.call("GET", f"/meetings/{hana.mid}").json["meeting"]["stream"] is None
    # its changes are their own event, never a meeting-updated
    assert not [e for ws in sockets for e in ws.events if e.get("event") == "meeting-updated"]


def test_ending_the_meeting_stops_the_stream_and_the_bot_still_reports(stack, room, bot_dir):
    (hana, _, _), sockets = room
    reply = call(hana, "POST", "", {"source": f"http://127.0.0.1:{stack.port}/live.m3u8",
                                    "mode": "live", "title": "Match"})
    assert reply.status == 201, reply.json  # a source on this machine: the local stack allows it
    sid = reply.json["stream"]["id"]
    bot = hana.rest.join(hana.mid, "Match",
                         botToken=launched(bot_dir, sid)["env"]["PARLEY_BOT_TOKEN"])
    assert call(bot, "GET", f"/{sid}").json["stream"]["sourceUrl"].endswith("/live.m3u8")
    with bot.connect() as bot_ws:
        assert call(bot, "PATCH", f"/{sid}", {"state": "playing"}).status == 200
        reply = call(hana, "PATCH", f"/{sid}", {"action": "pause"})
        assert (reply.status, reply.json["error"]["code"]) == (409, "not_seekable")
        assert hana.rest.call("DELETE", f"/meetings/{hana.mid}", token=hana.token).status == 204
        bot_ws.wait_for(event("meeting-ended"))
        bot_ws.wait_for(stream_event(sid, "stopping"))
        for ws in sockets:
            ws.wait_for(stream_event(sid, "stopping"))
    reply = call(bot, "PATCH", f"/{sid}", {"state": "ended"})
    assert reply.status == 200 and reply.json["stream"]["state"] == "ended"
