"""The stream handler, fed real records read from moto's DynamoDB Streams API."""

import json
import logging

import pytest
from chalice import WebsocketDisconnectedError

from chalicelib import push
from chalicelib.config import load
from chalicelib.models import Participant, meeting_pk, participant_sk


class RecordingGateway:
    """Stands in for the API Gateway management API: records frames, some connections gone."""

    def __init__(self, gone=()):
        self.frames = []
        self.gone = set(gone)

    def configure_from_api_id(self, api_id, stage):
        pass

    def send(self, connection_id, message):
        if connection_id in self.gone:
            raise WebsocketDisconnectedError(connection_id)
        self.frames.append((connection_id, json.loads(message)))

    def to(self, cid):
        return [f for c, f in self.frames if c == cid]


def _connect(mid, pid, cid):
    Participant(meeting_pk(mid), participant_sk(pid)).update(
        actions=[Participant.connections.add({cid})])


@pytest.fixture
def room(client):
    """A meeting with Alice, Bob and Carol, each with one WebSocket connection."""
    created = client.create()
    mid = created["meeting"]["id"]
    people = {}
    for name in ("alice", "bob", "carol"):
        joined = client.join(mid, name, **({"hostKey": created["hostKey"]}
                                           if name == "alice" else {}))
        _connect(mid, joined["participant"]["id"], f"ws-{name}-{mid}")
        people[name] = joined
    return mid, people


def _deliver(stream, gateway):
    return push.handle_stream({"Records": stream.records()}, push.Sender(gateway, load()))


def _pid(people, name):
    return people[name]["participant"]["id"]


def test_ticket_reaches_only_its_recipient(client, room, stream):
    mid, people = room
    client.call("POST", f"/meetings/{mid}/tickets",
                {"to": _pid(people, "bob"), "kind": "bye"}, token=people["alice"]["token"])
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    bob_frames = gateway.to(f"ws-bob-{mid}")
    assert [f["event"] for f in bob_frames] == ["ticket"]
    assert bob_frames[0]["ticket"]["from"] == _pid(people, "alice")
    assert gateway.to(f"ws-carol-{mid}") == [] and gateway.to(f"ws-alice-{mid}") == []


def test_join_update_and_leave_are_told_to_the_others(client, room, stream):
    mid, people = room
    dave = client.join(mid, "dave")
    client.call("PATCH", f"/meetings/{mid}/participants/me", {"audio": False},
                token=people["bob"]["token"])
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=people["carol"]["token"])
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    alice = gateway.to(f"ws-alice-{mid}")
    assert [f["event"] for f in alice] == ["participant-joined", "participant-updated",
                                          "participant-left"]
    assert alice[0]["participant"]["id"] == dave["participant"]["id"]
    assert alice[1]["participant"]["audio"] is False
    assert alice[2]["reason"] == "left"
    assert "participant-updated" not in [f["event"] for f in gateway.to(f"ws-bob-{mid}")]


def test_ticket_counter_changes_push_nothing(client, room, stream):
    mid, people = room
    client.call("POST", f"/meetings/{mid}/tickets", {"to": _pid(people, "bob"), "kind": "bye"},
                token=people["alice"]["token"])
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    assert [f["event"] for _, f in gateway.frames] == ["ticket"]


def test_removed_participant_hears_removed_and_others_hear_left(client, room, stream):
    mid, people = room
    client.call("DELETE", f"/meetings/{mid}/participants/{_pid(people, 'carol')}",
                token=people["alice"]["token"])
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    assert [f["event"] for f in gateway.to(f"ws-carol-{mid}")] == ["removed"]
    left = gateway.to(f"ws-bob-{mid}")
    assert [(f["event"], f["reason"]) for f in left] == [("participant-left", "removed")]


def test_mute_request_goes_to_its_target(client, room, stream):
    mid, people = room
    client.call("POST", f"/meetings/{mid}/participants/{_pid(people, 'bob')}/mute",
                token=people["alice"]["token"])
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    assert gateway.to(f"ws-bob-{mid}") == [{"event": "mute-requested",
                                            "by": _pid(people, "alice")}]
    assert gateway.to(f"ws-carol-{mid}") == []


def test_lock_and_end_reach_everyone(client, room, stream):
    mid, people = room
    host = people["alice"]["token"]
    client.call("PATCH", f"/meetings/{mid}", {"locked": True}, token=host)
    client.call("DELETE", f"/meetings/{mid}", token=host)
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    for name in ("alice", "bob", "carol"):
        events = [f["event"] for f in gateway.to(f"ws-{name}-{mid}")]
        assert events == ["meeting-updated", "meeting-ended"], name


def test_chat_message_reaches_everyone_as_text(client, room, stream):
    mid, people = room
    client.call("POST", f"/meetings/{mid}/messages", {"text": "<b>hi</b>"},
                token=people["bob"]["token"])
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    for name in ("alice", "bob", "carol"):
        frames = gateway.to(f"ws-{name}-{mid}")
        assert [f["message"]["text"] for f in frames] == ["<b>hi</b>"]


def test_gone_connection_is_forgotten_and_others_still_get_the_event(client, room, stream):
    mid, people = room
    gone = f"ws-bob-{mid}"
    client.call("POST", f"/meetings/{mid}/messages", {"text": "hello"},
                token=people["carol"]["token"])
    gateway = RecordingGateway(gone={gone})
    _deliver(stream, gateway)
    assert [f["event"] for f in gateway.to(f"ws-alice-{mid}")] == ["message"]
    bob = Participant.get(meeting_pk(mid), participant_sk(_pid(people, "bob")))
    assert not bob.connected
    _deliver(stream, gateway)  # Bob's connection loss is itself news for the others
    updates = [f for f in gateway.to(f"ws-alice-{mid}") if f["event"] == "participant-updated"]
    assert updates[-1]["participant"]["connected"] is False


def test_remove_records_push_nothing(client, room, stream):
    mid, people = room
    Participant(meeting_pk(mid), participant_sk(_pid(people, "carol"))).delete()
    records = stream.records()
    assert [r["eventName"] for r in records] == ["REMOVE"]
    gateway = RecordingGateway()
    counts = push.handle_stream({"Records": records}, push.Sender(gateway, load()))
    assert gateway.frames == [] and counts["failed"] == 0


def test_bad_record_is_logged_and_skipped_without_losing_the_rest(client, room, stream, caplog):
    mid, people = room
    client.call("POST", f"/meetings/{mid}/tickets", {"to": _pid(people, "bob"), "kind": "bye"},
                token=people["alice"]["token"])
    good = stream.records()
    broken = [{"eventID": "bad-1", "eventName": "INSERT", "dynamodb": {"NewImage": {
        "type": {"S": "Ticket"}, "pk": {"N": "oops"}}}}, {"eventID": "bad-2"}]
    gateway = RecordingGateway()
    counts = push.handle_stream({"Records": broken + good}, push.Sender(gateway, load()))
    assert counts["failed"] == 2
    assert [f["event"] for f in gateway.to(f"ws-bob-{mid}")] == ["ticket"]
    assert "bad-1" in caplog.text and "bad-2" in caplog.text


class FailingGateway(RecordingGateway):
    """A management API that is down (throttled, a network fault): every send raises."""

    def send(self, connection_id, message):
        raise RuntimeError("the management API is unreachable")


@pytest.fixture
def direct(app, monkeypatch):
    """The gateway the REST handler's fast path sends through (app.websocket_api)."""
    def use(gateway):
        monkeypatch.setattr(app, "websocket_api", gateway)
        return gateway
    return use


def test_a_stored_ticket_goes_straight_to_its_recipient_and_the_stream_repeats_it(
        client, room, stream, direct):
    mid, people = room
    fast = direct(RecordingGateway())
    resp = client.call("POST", f"/meetings/{mid}/tickets", {"to": _pid(people, "bob"), "kind": "bye"},
                       token=people["alice"]["token"])
    assert resp.status == 202
    tid = resp.json["ticket"]["id"]
    assert [(f["event"], f["ticket"]["id"]) for f in fast.to(f"ws-bob-{mid}")] == [("ticket", tid)]
    assert fast.to(f"ws-carol-{mid}") == [] and fast.to(f"ws-alice-{mid}") == []
    streamed = RecordingGateway()
    _deliver(stream, streamed)
    assert [f["ticket"]["id"] for f in streamed.to(f"ws-bob-{mid}")] == [tid]  # a duplicate


def test_a_failed_direct_send_still_stores_the_ticket_and_the_stream_delivers_it(
        client, room, stream, direct, caplog):
    mid, people = room
    caplog.set_level(logging.WARNING, "parley")
    direct(FailingGateway())
    resp = client.call("POST", f"/meetings/{mid}/tickets", {"to": _pid(people, "bob"), "kind": "bye"},
                       token=people["alice"]["token"])
    assert resp.status == 202
    assert "direct send of ticket" in caplog.text
    streamed = RecordingGateway()
    _deliver(stream, streamed)
    assert [f["ticket"]["id"] for f in streamed.to(f"ws-bob-{mid}")] == [resp.json["ticket"]["id"]]


def test_a_gone_socket_found_by_the_direct_send_is_forgotten(client, room, direct):
    mid, people = room
    bob = _pid(people, "bob")
    direct(RecordingGateway(gone={f"ws-bob-{mid}"}))
    client.call("POST", f"/meetings/{mid}/tickets", {"to": bob, "kind": "bye"},
                token=people["alice"]["token"])
    assert not Participant.get(meeting_pk(mid), participant_sk(bob), consistent_read=True).connections


# --- direct messages, reactions, hands --------------------------------------------------

def test_a_direct_message_reaches_its_sender_and_recipient_only(client, room, stream):
    mid, people = room
    resp = client.call("POST", f"/meetings/{mid}/messages",
                       {"text": "psst", "to": _pid(people, "carol")},
                       token=people["bob"]["token"])
    assert resp.status == 201
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    for name in ("bob", "carol"):
        [frame] = gateway.to(f"ws-{name}-{mid}")
        assert frame["event"] == "message"
        assert (frame["message"]["to"], frame["message"]["toName"]) == (_pid(people, "carol"),
                                                                        "carol")
    assert gateway.to(f"ws-alice-{mid}") == []


def test_the_audience_of_a_message_is_read_off_its_recipient():
    from chalicelib.models import Message, message_sk

    dm = Message(meeting_pk("m1"), message_sk("1"), cid="1", sender="bob", sender_name="Bob",
                 to="carol", to_name="Carol", text="x")
    [(audience, _)] = push.events_for("INSERT", dm, None)
    assert audience == push.just("m1", "bob", "carol")
    assert audience.only == frozenset({"bob", "carol"}) and audience.exclude is None
    public = Message(meeting_pk("m1"), message_sk("2"), cid="2", sender="bob",
                     sender_name="Bob", text="x")
    [(audience, event)] = push.events_for("INSERT", public, None)
    assert audience == push.Audience("m1")
    assert (event["message"]["to"], event["message"]["toName"]) == (None, None)
    assert push.events_for("MODIFY", dm, dm) == []


def test_a_reaction_reaches_everyone_but_its_sender(client, room, stream):
    mid, people = room
    resp = client.call("POST", f"/meetings/{mid}/reactions", {"emoji": "🎉"},
                       token=people["bob"]["token"])
    assert resp.status == 202
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    for name in ("alice", "carol"):
        assert gateway.to(f"ws-{name}-{mid}") == [{"event": "reaction",
                                                   "reaction": resp.json["reaction"]}]
    assert gateway.to(f"ws-bob-{mid}") == []


def test_a_hand_the_host_lowers_is_news_to_its_owner_too(client, room, stream):
    mid, people = room
    bob = _pid(people, "bob")
    client.call("PATCH", f"/meetings/{mid}/participants/me", {"hand": True},
                token=people["bob"]["token"])
    _deliver(stream, RecordingGateway())
    resp = client.call("PATCH", f"/meetings/{mid}/participants/{bob}", {"hand": False},
                       token=people["alice"]["token"])
    assert resp.status == 200
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    for name in ("alice", "bob", "carol"):
        [frame] = gateway.to(f"ws-{name}-{mid}")
        assert frame["event"] == "participant-updated", name
        assert frame["participant"]["id"] == bob
        assert (frame["participant"]["hand"], frame["participant"]["handRaisedAt"]) == (False,
                                                                                        None)


def test_a_hand_its_owner_lowers_or_raises_is_news_to_the_others_only(client, room, stream):
    mid, people = room
    token = people["bob"]["token"]
    client.call("PATCH", f"/meetings/{mid}/participants/me", {"hand": True}, token=token)
    client.call("PATCH", f"/meetings/{mid}/participants/me", {"hand": False}, token=token)
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    assert gateway.to(f"ws-bob-{mid}") == []
    hands = [(f["participant"]["hand"], f["participant"]["handRaisedAt"] is not None)
             for f in gateway.to(f"ws-carol-{mid}")]
    assert hands == [(True, True), (False, False)]


def test_the_host_lowering_a_hand_already_down_pushes_nothing(client, room, stream):
    mid, people = room
    resp = client.call("PATCH", f"/meetings/{mid}/participants/{_pid(people, 'bob')}",
                       {"hand": False}, token=people["alice"]["token"])
    assert resp.status == 200
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    assert gateway.frames == []


def test_someone_leaving_with_a_raised_hand_leaves_with_it_lowered(client, room, stream):
    mid, people = room
    token = people["carol"]["token"]
    client.call("PATCH", f"/meetings/{mid}/participants/me", {"hand": True}, token=token)
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=token)
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    left = [f for f in gateway.to(f"ws-alice-{mid}") if f["event"] == "participant-left"]
    assert [(f["participant"]["hand"], f["participant"]["handRaisedAt"]) for f in left] == [
        (False, None)]


def test_an_audience_of_several_reaches_each_of_them_once(client, room):
    mid, people = room
    gateway = RecordingGateway()
    sender = push.Sender(gateway, load())
    pids = [_pid(people, "alice"), _pid(people, "carol")]
    assert sender.send(push.just(mid, *pids, "nobody000000"), {"event": "hello"}) == 2
    assert gateway.to(f"ws-alice-{mid}") == gateway.to(f"ws-carol-{mid}") == [{"event": "hello"}]
    assert gateway.to(f"ws-bob-{mid}") == []
    assert sender.send(push.just(mid), {"event": "hello"}) == 0
