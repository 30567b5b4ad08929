"""A scheduled start (`startsAt`): what a create accepts, the meeting object before and
after, a guest's join before it refused with nothing stored, a host's join starting the
meeting early for everyone, and the purge counting retention from the start."""

from datetime import timedelta

import pytest

from chalicelib import autoclear, meetings, push
from chalicelib.config import load
from chalicelib.errors import InvalidRequest
from chalicelib.models import META_SK, Item, Meeting, iso, meeting_pk, now
from tests.unit.test_push import RecordingGateway


def _in(seconds: float) -> str:
    return iso(now() + timedelta(seconds=seconds))


def _partition(mid):
    return sorted((i.sk, i.serialize()) for i in Item.query(meeting_pk(mid),
                                                            consistent_read=True))


def _meeting(mid):
    return Meeting.get(meeting_pk(mid), META_SK, consistent_read=True)


def _move_start(mid, seconds):
    Meeting(meeting_pk(mid), META_SK).update(
        actions=[Meeting.starts_at.set(now() + timedelta(seconds=seconds))])


@pytest.mark.parametrize("value", [
    "2026-11-23T09:00:00Z",  # the past (this test runs later than that)
    "in an hour", "", "tomorrow", "2099-01-01", "12:00",
    "NEXTYEAR-01-01T00:00:00Z",
    "2030-01-01T09:00:00",  # no timezone
    "2030-02-30T09:00:00Z", "2030-01-01T25:00:00Z", "2030-01-01T09:00:00+25:00",
    "2030-01-01T09:00Z",  # no seconds
])
def test_starts_at_refuses_what_is_not_a_future_time_with_a_timezone(value):
    with pytest.raises(InvalidRequest) as refused:
        meetings.starts_at(value)
    assert refused.value.message.startswith("startsAt must be a future time")


def test_starts_at_takes_a_time_ahead_in_any_offset_up_to_a_year():
    soon = now() + timedelta(seconds=5)
    assert abs((meetings.starts_at(iso(soon)) - soon).total_seconds()) < 0.01
    east = (now() + timedelta(hours=2)).astimezone().isoformat()
    assert meetings.starts_at(east) > now()
    text = (now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.123456789+0200")
    assert meetings.starts_at(text) > now()
    assert meetings.starts_at(_in(365 * 86400)) > now()
    for too_far in (_in(367 * 86400), _in(-1), iso(now())):
        with pytest.raises(InvalidRequest):
            meetings.starts_at(too_far)
    assert meetings.starts_at(None) is None


def test_a_bad_start_is_400_and_creates_nothing(client):
    before = sum(1 for _ in Meeting.scan())
    for value in ("2020-01-01T00:00:00Z", _in(400 * 86400), "soon", 12, None):
        resp = client.call("POST", "/meetings", {"name": "x", "startsAt": value})
        assert resp.status == 400, value
        assert resp.json["error"]["code"] == "invalid_request"
    message = client.call("POST", "/meetings", {"name": "x", "startsAt": "soon"}).json
    assert message["error"]["message"].startswith("startsAt must be a future time")
    assert sum(1 for _ in Meeting.scan()) == before


def test_the_meeting_object_shows_the_start_and_whether_it_started(client):
    plain = client.create()["meeting"]
    assert (plain["startsAt"], plain["started"], plain["lobby"]) == (None, True, False)
    start = _in(3600)
    created = client.create(startsAt=start, lobby=True)["meeting"]
    assert (created["startsAt"], created["started"], created["lobby"]) == (start, False, True)
    got = client.call("GET", f"/meetings/{created['id']}")  # works before the start
    assert got.status == 200 and got.json["meeting"]["started"] is False
    _move_start(created["id"], -1)
    assert client.call("GET", f"/meetings/{created['id']}").json["meeting"]["started"] is True


def test_a_guest_joining_before_the_start_gets_409_with_the_start_and_stores_nothing(client):
    start = _in(3600)
    mid = client.create(startsAt=start, passcode="sesame-1")["meeting"]["id"]
    before = _partition(mid)
    for body in ({"name": "gus"}, {"name": "gus", "passcode": "wrong-guess"},
                 {"name": "gus", "passcode": "sesame-1"}):
        resp = client.call("POST", f"/meetings/{mid}/join", body)
        assert resp.status == 409, body
        assert resp.json["error"]["code"] == "meeting_not_started"
        assert resp.json["error"]["startsAt"] == start
        assert start in resp.json["error"]["message"]
    assert _partition(mid) == before  # not even a wrong passcode counted
    _move_start(mid, -1)
    resp = client.call("POST", f"/meetings/{mid}/join", {"name": "gus", "passcode": "sesame-1"})
    assert resp.status == 200


def test_the_hosts_join_starts_the_meeting_early_for_everyone(client, stream):
    created = client.create(startsAt=_in(3600))
    mid = created["meeting"]["id"]
    assert client.call("POST", f"/meetings/{mid}/join",
                       {"name": "x", "hostKey": "not-the-key"}).status == 403
    host = client.join(mid, "hana", hostKey=created["hostKey"])
    assert host["meeting"]["started"] is True
    assert _meeting(mid).started_early is True
    from chalicelib.models import Participant, participant_sk

    Participant(meeting_pk(mid), participant_sk(host["participant"]["id"])).update(
        actions=[Participant.connections.add({f"ws-hana-{mid}"})])
    gateway = RecordingGateway()
    push.handle_stream({"Records": stream.records()}, push.Sender(gateway, load()))
    updates = [f for f in gateway.to(f"ws-hana-{mid}") if f["event"] == "meeting-updated"]
    assert [f["meeting"]["started"] for f in updates] == [True]
    guest = client.join(mid, "gus")
    assert guest["meeting"]["started"] is True
    assert client.call("GET", f"/meetings/{mid}").json["meeting"]["started"] is True
    # a later host joins without writing the start again
    before = _meeting(mid).started_early
    client.join(mid, "hank", hostKey=created["hostKey"])
    assert _meeting(mid).started_early is before


def test_a_scheduled_meeting_is_kept_for_the_retention_after_its_start(client):
    far = client.create(startsAt=_in(30 * 86400))["meeting"]["id"]
    near = client.create(startsAt=_in(60))["meeting"]["id"]
    created_long_ago = now() - timedelta(hours=100)
    for mid in (far, near):
        Meeting(meeting_pk(mid), META_SK).update(actions=[Meeting.created_at.set(created_long_ago)])
    _move_start(near, -100 * 3600)  # it started 100 h ago: past retention
    assert _meeting(far).expires > now() + timedelta(days=30)
    autoclear.purge(load())
    assert client.call("GET", f"/meetings/{far}").status == 200
    assert client.call("GET", f"/meetings/{near}").status == 404
