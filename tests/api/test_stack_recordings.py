"""Recordings over real HTTP and WebSocket against a local stack of their own, whose
launcher starts a stand-in bot (tests/fixtures/fake_recorder.py) that writes down how it
was started: the test reads the invitation from it and plays the bot itself. A guest is
refused; the host's start launches the bot with the contract's environment; the bot
joins with its invitation (also into a full, locked meeting with a lobby and passcode),
reports, and everyone hears recording-updated; ending the meeting stops the recording;
stopping the stack stops the bots it started."""

import json
import os
import time

import pytest

from harness.http import TIMEOUT
from harness.stack import running_stack
from tests.fixtures.table import Store

from .stack_client import Participant, Rest, event, joined

FAKE_BOT = "tests.fixtures.fake_recorder"
BUCKET = "parley-recordings"


@pytest.fixture(scope="module")
def bot_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bots")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, bot_dir):
    """This module's stack (the `room` fixture runs on it too): bots are the stand-in."""
    log = tmp_path_factory.mktemp("recording-stack") / "devserver.log"
    with running_stack(log, PARLEY_BOT_MODULE=FAKE_BOT, PARLEY_BOT_WORKDIR=str(bot_dir),
                       PARLEY_RECORDINGS_BUCKET=BUCKET,
                       PARLEY_BOT_LOG_DIR=str(bot_dir / "logs")) as running:
        yield running


def launched(bot_dir, rid) -> dict:
    """What the stand-in bot of recording `rid` wrote down when it was started."""
    path = bot_dir / f"{rid}.json"
    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        assert time.monotonic() < deadline, f"no bot was started for recording {rid}"
        time.sleep(0.05)
    return json.loads(path.read_text())


def recording_event(rid, state):
    return lambda e: (e.get("event") == "recording-updated" and e["recording"]["id"] == rid
                      and e["recording"]["state"] == state)


def start(who, **body):
    return who.rest.call("POST", f"/meetings/{who.mid}/recordings", body, who.token)


def patch(bot, rid, **body):
    return bot.rest.call("PATCH", f"/meetings/{bot.mid}/recordings/{rid}", body, bot.token)


def test_a_host_starts_a_recording_and_its_bot_is_launched_with_its_job(stack, room, bot_dir):
    (hana, gus, _), sockets = room
    partition = Store(stack).partition
    before = partition(hana.mid)
    reply = start(gus, mode="av")
    assert (reply.status, reply.json["error"]["code"]) == (403, "not_host")
    reply = start(hana, mode="av", callbackUrl="ftp://127.0.0.1/x")
    assert (reply.status, reply.json["error"]["code"]) == (400, "invalid_callback_url")
    assert partition(hana.mid) == before

    callback = f"http://127.0.0.1:{stack.port + 1}/done"  # this machine: allowed locally
    reply = start(hana, mode="av", callbackUrl=callback)
    assert reply.status == 201, reply.json
    rec = reply.json["recording"]
    assert (rec["state"], rec["mode"], rec["reserve"], rec["callbackUrl"]) == (
        "starting", "av", True, callback)
    for ws in sockets:
        heard = ws.wait_for(recording_event(rec["id"], "starting"))
        assert "callbackUrl" not in heard["recording"]

    bot = launched(bot_dir, rec["id"])
    env = bot["env"]
    assert bot["pgid"] == bot["pid"]  # a process group of its own
    assert {k: env[k] for k in ("PARLEY_API_URL", "PARLEY_BOT_MEETING", "PARLEY_BOT_RECORDING",
                                "PARLEY_RECORDINGS_BUCKET", "PARLEY_BOT_IDLE_SECONDS",
                                "AWS_REGION")} == {
        "PARLEY_API_URL": stack.api, "PARLEY_BOT_MEETING": hana.mid,
        "PARLEY_BOT_RECORDING": rec["id"], "PARLEY_RECORDINGS_BUCKET": BUCKET,
        "PARLEY_BOT_IDLE_SECONDS": "300", "AWS_REGION": "us-east-1"}
    assert json.loads(env["PARLEY_BOT_OPTIONS"]) == {"mode": "av", "reserve": True,
                                                     "callbackUrl": callback}
    assert env["PARLEY_BOT_TOKEN"].count(".") == 2
    assert not {"PARLEY_JWT_SECRET", "PARLEY_DYNAMODB_ENDPOINT", "PARLEY_TABLE"} & set(env)
    log = bot_dir / "logs" / f"recorder-{hana.mid}-{rec['id']}.log"
    assert "fake recorder for" in log.read_text()

    meeting = hana.rest.call("GET", f"/meetings/{hana.mid}").json["meeting"]
    assert meeting["recording"] == {"id": rec["id"], "mode": "av", "state": "starting"}
    reply = start(hana)
    assert (reply.status, reply.json["error"]["code"]) == (409, "recording_active")


def test_the_bot_joins_with_its_invitation_reports_and_everyone_hears_it(stack, room, bot_dir):
    (hana, gus, ola), sockets = room
    rec = start(hana).json["recording"]
    invite = launched(bot_dir, rec["id"])["env"]["PARLEY_BOT_TOKEN"]
    other = hana.rest.create("Elsewhere")["meeting"]["id"]
    reply = hana.rest.call("POST", f"/meetings/{other}/join",
                           {"name": "Recorder", "botToken": invite})
    assert (reply.status, reply.json["error"]["code"]) == (403, "invalid_bot_token")

    first = hana.rest.join(hana.mid, "Recorder", botToken=invite)
    reply = hana.rest.call("POST", f"/meetings/{hana.mid}/join",
                           {"name": "Recorder", "botToken": invite})
    assert reply.json["participant"]["role"] == "bot"  # a restart takes the first one's place
    bot = Participant(hana.rest, hana.mid, reply.json)
    for ws in sockets:
        seen = ws.wait_for(joined(bot.pid))["participant"]
        assert (seen["role"], seen["bot"], seen["recordingId"]) == ("bot", "recorder", rec["id"])
    reply = first.rest.call("GET", f"/meetings/{hana.mid}/participants", token=first.token)
    assert (reply.status, reply.json["error"]["code"]) == (403, "participant_gone")
    with bot.connect() as bot_ws:
        assert patch(bot, rec["id"], state="recording").status == 200
        for ws in (*sockets, bot_ws):
            ws.wait_for(recording_event(rec["id"], "recording"))
        reply = patch(gus, rec["id"], state="done")
        assert (reply.status, reply.json["error"]["code"]) == (403, "not_recording_bot")

        reply = hana.rest.call("DELETE", f"/meetings/{hana.mid}/recordings/{rec['id']}",
                               token=hana.token)
        assert reply.status == 202 and reply.json["recording"]["state"] == "stopping"
        for ws in (*sockets, bot_ws):
            ws.wait_for(recording_event(rec["id"], "stopping"))
    bot.leave()
    assert patch(bot, rec["id"], state="uploading").status == 200
    key = f"recordings/{hana.mid}/{rec['id']}/recording.mp3"
    reply = patch(bot, rec["id"], state="done", files=[
        {"file": "recording.mp3", "key": key, "status": 0, "message": "", "size": 4096}])
    assert reply.status == 200, reply.json
    for ws in sockets:
        ws.wait_for(recording_event(rec["id"], "done"))
    listed = hana.rest.call("GET", f"/meetings/{hana.mid}/recordings",
                            token=hana.token).json["recordings"]
    (stored,) = listed[0]["files"]
    assert stored["size"] == 4096 and key in stored["downloadUrl"]
    assert hana.rest.call("GET", f"/meetings/{hana.mid}").json["meeting"]["recording"] is None
    reply = hana.rest.call("POST", f"/meetings/{hana.mid}/join",
                           {"name": "Recorder", "botToken": invite})
    assert (reply.status, reply.json["error"]["code"]) == (403, "invalid_bot_token")
    # the recording's changes are their own event, never a meeting-updated
    assert not [e for ws in sockets for e in ws.events if e.get("event") == "meeting-updated"]


def test_a_bot_joins_a_full_locked_meeting_behind_a_lobby_and_a_passcode(stack, bot_dir):
    rest = Rest(stack.api)
    created = rest.create("Closed", passcode="s3cret!", lobby=True, maxParticipants=2)
    mid = created["meeting"]["id"]
    host = rest.join(mid, "Hana", hostKey=created["hostKey"])
    rest.join(mid, "Olga", hostKey=created["hostKey"])
    reply = rest.call("PATCH", f"/meetings/{mid}", {"locked": True}, host.token)
    assert reply.status == 200
    rec = start(host).json["recording"]
    invite = launched(bot_dir, rec["id"])["env"]["PARLEY_BOT_TOKEN"]
    bot = rest.join(mid, "Recorder", botToken=invite)
    meeting = rest.call("GET", f"/meetings/{mid}").json["meeting"]
    assert meeting["participantCount"] == 2  # no seat taken
    reply = rest.call("GET", f"/meetings/{mid}/participants", token=bot.token)
    assert [p["role"] for p in reply.json["participants"]] == ["host", "host", "bot"]


def test_ending_the_meeting_stops_the_recording_and_the_bot_still_reports(stack, room, bot_dir):
    (hana, _, _), sockets = room
    rec = start(hana, mode="video").json["recording"]
    bot = hana.rest.join(hana.mid, "Recorder",
                         botToken=launched(bot_dir, rec["id"])["env"]["PARLEY_BOT_TOKEN"])
    with bot.connect() as bot_ws:
        assert patch(bot, rec["id"], state="recording").status == 200
        bot_ws.wait_for(recording_event(rec["id"], "recording"))
        reply = hana.rest.call("DELETE", f"/meetings/{hana.mid}", token=hana.token)
        assert reply.status == 204
        bot_ws.wait_for(event("meeting-ended"))
        bot_ws.wait_for(recording_event(rec["id"], "stopping"))
        for ws in sockets:
            ws.wait_for(recording_event(rec["id"], "stopping"))
    assert patch(bot, rec["id"], state="uploading").status == 200
    reply = patch(bot, rec["id"], state="done")
    assert reply.status == 200 and reply.json["recording"]["state"] == "done"


def test_stopping_the_stack_stops_the_bots_it_started(tmp_path):
    (tmp_path / "linger").write_text("")  # the stand-in waits for SIGTERM
    with running_stack(tmp_path / "devserver.log", PARLEY_BOT_MODULE=FAKE_BOT,
                       PARLEY_BOT_WORKDIR=str(tmp_path),
                       PARLEY_RECORDINGS_BUCKET=BUCKET) as running:
        rest = Rest(running.api)
        created = rest.create("Short")
        host = rest.join(created["meeting"]["id"], "Hana", hostKey=created["hostKey"])
        rec = start(host).json["recording"]
        bot = launched(tmp_path, rec["id"])
        os.killpg(bot["pgid"], 0)  # running
    assert (tmp_path / f"{rec['id']}.stopped").read_text() == "SIGTERM"
    with pytest.raises(ProcessLookupError):
        os.killpg(bot["pgid"], 0)
