"""A bot's invitation and join: a participant of role bot that skips lobby, passcode, lock
and scheduled start, takes no seat, and of which at most two are present at once (also
when they join at once); invitations for anything else are refused and store nothing."""

import threading
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from chalicelib import bot_access, meetings, recording_store
from chalicelib.config import settings
from chalicelib.errors import ApiError
from chalicelib.ids import recording_id
from chalicelib.models import Recording, kept_until, meeting_pk, now, recording_sk
from tests.fixtures.dynamo import direct_request
from tests.unit.test_recordings import (
    RecordingLauncher,
    join_bot,
    meeting_item,
    partition,
    report,
    started,
)


@pytest.fixture(autouse=True)
def recording_settings(settings_env):
    """A server that can record: a bucket and the REST base its bots call."""
    settings_env(PARLEY_API_URL="http://127.0.0.1:9/api", PARLEY_RECORDINGS_BUCKET="parley-recordings")


@pytest.fixture
def hosted(client):
    created = client.create()
    mid = created["meeting"]["id"]
    return mid, client.join(mid, "Hana", hostKey=created["hostKey"])


def bot_join(client, mid, invite, **extra):
    return client.call("POST", f"/meetings/{mid}/join",
                       {"name": "Recorder", "botToken": invite, **extra})


def invite_for(mid, host):
    launcher = RecordingLauncher()
    rec = started(mid, host, launcher)
    return rec["id"], launcher.jobs[-1].token


def test_a_bot_joins_as_a_bot_of_its_recording(client, hosted):
    mid, host = hosted
    rid, invite = invite_for(mid, host)
    joined = join_bot(client, mid, invite)
    me = joined["participant"]
    assert (me["role"], me["bot"], me["recordingId"], me["name"]) == ("bot", "recorder", rid,
                                                                      "Recorder")
    assert (me["audio"], me["video"], me["state"]) == (False, False, "active")
    assert [p["id"] for p in joined["participants"]] == [host["participant"]["id"]]
    assert joined["meeting"]["recording"] == {"id": rid, "mode": "audio", "state": "starting"}
    assert joined["iceServers"] and joined["wsUrl"]
    roster = client.call("GET", f"/meetings/{mid}/participants", token=joined["token"]).json
    assert [(p["role"], p["bot"], p["recordingId"]) for p in roster["participants"]] == [
        ("host", None, None), ("bot", "recorder", rid)]


def test_a_bot_skips_lobby_passcode_lock_and_takes_no_seat(client):
    created = client.create(passcode="s3cret", lobby=True, maxParticipants=2)
    mid = created["meeting"]["id"]
    host = client.join(mid, "Hana", hostKey=created["hostKey"])
    cohost = client.join(mid, "Cole", hostKey=created["hostKey"])  # the meeting is full
    client.call("PATCH", f"/meetings/{mid}", {"locked": True}, token=host["token"])
    rid, invite = invite_for(mid, cohost)
    joined = join_bot(client, mid, invite)
    assert joined["participant"]["state"] == "active"
    meeting = meeting_item(mid)
    assert (meeting.participant_count, meeting.bot_count) == (2, 1)
    resp = client.call("DELETE", f"/meetings/{mid}/participants/{joined['participant']['id']}",
                       token=host["token"])
    assert resp.status == 204
    meeting = meeting_item(mid)
    assert (meeting.participant_count, meeting.bot_count) == (2, 0)


def test_a_bot_joins_before_the_scheduled_start(client):
    starts = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    created = client.create(startsAt=starts)
    mid = created["meeting"]["id"]
    rid = recording_id()
    recording = Recording(meeting_pk(mid), recording_sk(rid), rid=rid, mode="audio",
                          state="starting", started_by="someone", created_at=now(),
                          expires=kept_until())
    recording_store.create(meeting_item(mid), recording)
    resp = client.call("POST", f"/meetings/{mid}/join", {"name": "Gus"})
    assert resp.json["error"]["code"] == "meeting_not_started"
    joined = join_bot(client, mid, bot_access.issue_invite(mid, rid, settings()))
    assert joined["meeting"]["started"] is False


def forged(mid, rid, **changes):
    issued = int(time.time())
    claims = {"mid": mid, "rid": rid, "role": "bot-invite", "bot": "recorder", "iat": issued,
              "exp": issued + 600, **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, settings().jwt_secret(), algorithm="HS256")


def test_invitations_for_anything_else_are_refused_and_store_nothing(client, hosted):
    mid, host = hosted
    rid, invite = invite_for(mid, host)
    other = client.create()
    other_mid = other["meeting"]["id"]
    other_host = client.join(other_mid, "Olga", hostKey=other["hostKey"])
    other_rid, other_invite = invite_for(other_mid, other_host)
    before = partition(mid)
    for token in (other_invite,                              # another meeting's
                  forged(mid, other_rid),                    # a recording of another meeting
                  forged(mid, "nosuchrecording"),            # no such recording
                  forged(mid, rid, exp=int(time.time()) - 5),  # expired
                  forged(mid, rid, role="host"),             # not an invitation
                  forged(mid, rid, bot="painter"),           # no such bot
                  forged(mid, rid, bot="streamer"),          # a streamer's names no stream
                  forged(mid, 12345),                        # an id that is no string
                  forged(mid, rid, bot=None),                # claims missing
                  forged(mid, "../x"),                       # not an id
                  jwt.encode({"mid": mid, "rid": rid, "role": "bot-invite", "bot": "recorder",
                              "iat": 1, "exp": 2**40}, "another key!" * 4, algorithm="HS256"),
                  host["token"],                             # a participant's token
                  "not a token"):
        resp = bot_join(client, mid, token)
        assert (resp.status, resp.json["error"]["code"]) == (403, "invalid_bot_token"), token
    resp = bot_join(client, mid, invite, hostKey="x")
    assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request")
    assert partition(mid) == before
    resp = bot_join(client, "nosuchmeeting", invite)
    assert (resp.status, resp.json["error"]["code"]) == (404, "meeting_not_found")


def test_an_invitation_is_dead_once_its_recording_is_over(client, hosted):
    mid, host = hosted
    rid, invite = invite_for(mid, host)
    bot = join_bot(client, mid, invite)
    assert report(client, mid, rid, bot, state="failed", error="no media").status == 200
    resp = bot_join(client, mid, invite)
    assert (resp.status, resp.json["error"]["code"]) == (403, "invalid_bot_token")


def test_a_restarted_bot_takes_the_place_of_its_earlier_self(client, hosted):
    mid, host = hosted
    rid, invite = invite_for(mid, host)
    first = join_bot(client, mid, invite)
    again = join_bot(client, mid, invite)
    roster = client.call("GET", f"/meetings/{mid}/participants", token=host["token"]).json
    bots_present = [p for p in roster["participants"] if p["role"] == "bot"]
    assert [p["id"] for p in bots_present] == [again["participant"]["id"]]
    assert meeting_item(mid).bot_count == 1
    resp = client.call("GET", f"/meetings/{mid}/participants", token=first["token"])
    assert (resp.status, resp.json["error"]["code"]) == (403, "participant_gone")
    assert report(client, mid, rid, again, state="recording").status == 200


def finished_bot(client, mid, host):
    """A bot whose recording failed but that is still present."""
    rid, invite = invite_for(mid, host)
    bot = join_bot(client, mid, invite)
    assert report(client, mid, rid, bot, state="failed").status == 200
    return bot


def test_at_most_two_bots_are_present_at_once(client, hosted):
    mid, host = hosted
    first = finished_bot(client, mid, host)
    finished_bot(client, mid, host)
    _, invite = invite_for(mid, host)
    before = partition(mid)
    resp = bot_join(client, mid, invite)
    assert (resp.status, resp.json["error"]["code"]) == (409, "too_many_bots")
    assert partition(mid) == before
    assert client.call("DELETE", f"/meetings/{mid}/participants/me",
                       token=first["token"]).status == 204
    assert join_bot(client, mid, invite)["participant"]["role"] == "bot"
    assert meeting_item(mid).bot_count == 2


def test_bots_joining_at_once_never_exceed_two(client, hosted):
    mid, host = hosted
    finished_bot(client, mid, host)
    _, invite = invite_for(mid, host)
    barrier = threading.Barrier(4)
    results = []

    def go():
        barrier.wait()
        try:
            meetings.join(mid, direct_request({"name": "Recorder", "botToken": invite}))
            results.append(200)
        except ApiError as err:
            results.append(err.code)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    roster = client.call("GET", f"/meetings/{mid}/participants", token=host["token"]).json
    present = [p for p in roster["participants"] if p["role"] == "bot"]
    assert len(present) == 2 == meeting_item(mid).bot_count
    assert results.count(200) >= 1
    assert set(results) <= {200, "too_many_bots", "try_again"}
