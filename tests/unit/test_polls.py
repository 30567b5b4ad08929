"""Polls in process: create, vote once (a race with threads and one in a forced order),
close, counts hidden or shown, anonymity, push audiences, the report as JSON and CSV, and
its email through moto's SES when the meeting ends."""

import csv
import io
import threading

import pytest

from chalicelib import polls, push, ratelimit
from chalicelib.config import load
from chalicelib.errors import ApiError
from chalicelib.models import Item, Poll, Vote, meeting_pk, poll_sk, transaction, vote_sk
from tests.fixtures.dynamo import direct_request
from tests.unit.test_push import RecordingGateway, _connect


@pytest.fixture(autouse=True)
def unlimited(monkeypatch):
    monkeypatch.setattr(ratelimit, "buckets", lambda: ratelimit.Buckets(
        ratelimit.parse("moderate=1e9/1e9,vote=1e9/1e9")))


@pytest.fixture
def room(client):
    """A host, a co-host made by the host, and two guests."""
    created = client.create(reportEmail="reports@example.com")
    mid = created["meeting"]["id"]
    host = client.join(mid, "Hana", hostKey=created["hostKey"])
    cole, gus, ola = (client.join(mid, name) for name in ("Cole", "Gus", "Ola"))
    resp = client.call("PATCH", f"/meetings/{mid}/participants/{cole['participant']['id']}",
                       {"role": "cohost"}, token=host["token"])
    assert resp.status == 200, resp.json
    return mid, host, cole, gus, ola


def _partition(mid):
    return [item.serialize() for item in Item.query(meeting_pk(mid), consistent_read=True)]


def _create(client, mid, who, **extra):
    body = {"question": "Lunch?", "options": ["Pizza", "Soup", "Salad"], **extra}
    resp = client.call("POST", f"/meetings/{mid}/polls", body, token=who["token"])
    assert resp.status == 201, resp.json
    return resp.json["poll"]


def _vote(client, mid, who, poll, *options):
    return client.call("POST", f"/meetings/{mid}/polls/{poll['id']}/votes",
                       {"options": list(options)}, token=who["token"])


def _list(client, mid, who):
    resp = client.call("GET", f"/meetings/{mid}/polls", token=who["token"])
    assert resp.status == 200, resp.json
    return resp.json["polls"]


def test_a_moderator_creates_a_poll_and_a_guest_may_not(client, room):
    mid, host, cole, gus, _ = room
    poll = _create(client, mid, cole, multiple=True)
    assert poll["options"] == [{"id": "o0", "text": "Pizza"}, {"id": "o1", "text": "Soup"},
                               {"id": "o2", "text": "Salad"}]
    assert (poll["state"], poll["results"], poll["multiple"], poll["anonymous"]) == (
        "open", "live", True, False)
    assert (poll["counts"], poll["voters"], poll["myVote"], poll["closedAt"]) == (
        [0, 0, 0], 0, None, None)
    before = _partition(mid)
    resp = client.call("POST", f"/meetings/{mid}/polls",
                       {"question": "Q", "options": ["a", "b"]}, token=gus["token"])
    assert (resp.status, resp.json["error"]["code"]) == (403, "not_host")
    for bad in ({"question": "Q", "options": ["a"]},
                {"question": "Q", "options": ["a", "a"]},
                {"question": "Q", "options": ["a", " a "]},
                {"question": "Q", "options": [str(n) for n in range(11)]},
                {"question": "", "options": ["a", "b"]},
                {"question": "x" * 301, "options": ["a", "b"]},
                {"question": "Q", "options": ["a", "b" * 101]},
                {"question": "Q", "options": ["a", "b"], "results": "never"},
                {"question": "Q", "options": ["a", "b"], "extra": 1}):
        resp = client.call("POST", f"/meetings/{mid}/polls", bad, token=host["token"])
        assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request"), bad
    assert _partition(mid) == before


def test_one_vote_each_counted_and_refusals_store_nothing(client, room):
    mid, host, _, gus, ola = room
    single = _create(client, mid, host)
    multi = _create(client, mid, host, multiple=True)
    resp = _vote(client, mid, gus, single, "o1")
    assert resp.status == 201, resp.json
    assert (resp.json["poll"]["counts"], resp.json["poll"]["voters"],
            resp.json["poll"]["myVote"]) == ([0, 1, 0], 1, ["o1"])
    before = _partition(mid)
    for who, poll, options, status, code in (
            (gus, single, ["o0"], 409, "already_voted"),
            (ola, single, ["o0", "o1"], 400, "invalid_request"),
            (ola, single, ["o7"], 400, "invalid_request"),
            (ola, single, [], 400, "invalid_request"),
            (ola, multi, ["o1", "o1"], 400, "invalid_request"),
            (ola, {"id": "nopoll"}, ["o0"], 404, "poll_not_found"),
            (ola, {"id": "bad id!"}, ["o0"], 404, "poll_not_found")):
        resp = _vote(client, mid, who, poll, *options)
        assert (resp.status, resp.json["error"]["code"]) == (status, code), options
    assert _partition(mid) == before
    resp = _vote(client, mid, ola, multi, "o2", "o0")
    assert resp.json["poll"]["counts"] == [1, 0, 1] and resp.json["poll"]["myVote"] == ["o0",
                                                                                         "o2"]
    listed = _list(client, mid, ola)
    assert [p["id"] for p in listed] == [single["id"], multi["id"]]
    assert [p["myVote"] for p in listed] == [None, ["o0", "o2"]]
    assert [p["myVote"] for p in _list(client, mid, gus)] == [["o1"], None]


def test_close_is_idempotent_and_a_closed_poll_takes_no_votes(client, room):
    mid, host, cole, gus, _ = room
    poll = _create(client, mid, host)
    resp = client.call("POST", f"/meetings/{mid}/polls/{poll['id']}/close", token=gus["token"])
    assert (resp.status, resp.json["error"]["code"]) == (403, "not_host")
    closed = client.call("POST", f"/meetings/{mid}/polls/{poll['id']}/close", token=cole["token"])
    assert closed.status == 200 and closed.json["poll"]["state"] == "closed"
    assert closed.json["poll"]["closedAt"]
    before = _partition(mid)
    again = client.call("POST", f"/meetings/{mid}/polls/{poll['id']}/close", token=host["token"])
    assert again.status == 200 and again.json["poll"]["closedAt"] == closed.json["poll"]["closedAt"]
    resp = _vote(client, mid, gus, poll, "o0")
    assert (resp.status, resp.json["error"]["code"]) == (409, "poll_closed")
    assert _partition(mid) == before
    resp = client.call("POST", f"/meetings/{mid}/polls/nopoll/close", token=host["token"])
    assert (resp.status, resp.json["error"]["code"]) == (404, "poll_not_found")


def test_concurrent_double_votes_count_once(client, room):
    mid, host, _, gus, _ = room
    poll = _create(client, mid, host)
    statuses, start = [], threading.Barrier(8)

    def go():
        start.wait()
        try:
            polls.vote(mid, poll["id"], direct_request({"options": ["o0"]}, gus["token"]))
            statuses.append(201)
        except ApiError as err:
            statuses.append(err.code)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses, key=str) == sorted([201] + ["already_voted"] * 7, key=str)
    stored = Poll.get(meeting_pk(mid), poll_sk(poll["id"]), consistent_read=True)
    assert (stored.counts(), stored.voters) == ([1, 0, 0], 1)


def test_a_vote_that_loses_to_another_vote_or_a_close_in_between_is_refused(
        client, room, monkeypatch):
    """Forced order: the poll is read open, then (before the vote's transaction) the same
    participant's other vote lands, or a moderator closes the poll."""
    mid, host, _, gus, ola = room
    poll = _create(client, mid, host)
    real = polls.transaction

    def interleaved(before):
        def tx():
            before()
            monkeypatch.setattr(polls, "transaction", real)
            return real()
        return tx

    def other_vote():
        with transaction() as tx:
            stored = Poll.get(meeting_pk(mid), poll_sk(poll["id"]))
            tx.save(Vote(meeting_pk(mid), vote_sk(poll["id"], gus["participant"]["id"]),
                         poll_id=poll["id"], pid=gus["participant"]["id"], name="Gus",
                         choices=["o2"], voted_at=stored.created_at))
            tx.update(stored, actions=[Poll.count_2.add(1), Poll.voters.add(1)])

    monkeypatch.setattr(polls, "transaction", interleaved(other_vote))
    resp = _vote(client, mid, gus, poll, "o0")
    assert (resp.status, resp.json["error"]["code"]) == (409, "already_voted")

    monkeypatch.setattr(polls, "transaction", interleaved(lambda: client.call(
        "POST", f"/meetings/{mid}/polls/{poll['id']}/close", token=host["token"])))
    resp = _vote(client, mid, ola, poll, "o0")
    assert (resp.status, resp.json["error"]["code"]) == (409, "poll_closed")
    stored = Poll.get(meeting_pk(mid), poll_sk(poll["id"]), consistent_read=True)
    assert (stored.counts(), stored.voters, stored.state) == ([0, 0, 1], 1, "closed")


def test_closed_results_hide_counts_from_guests_until_the_poll_closes(client, room):
    mid, host, cole, gus, _ = room
    poll = _create(client, mid, host, results="closed")
    voted = _vote(client, mid, gus, poll, "o2").json["poll"]
    assert (voted["counts"], voted["myVote"], voted["voters"]) == (None, ["o2"], 1)
    assert _list(client, mid, gus)[0]["counts"] is None
    assert _list(client, mid, cole)[0]["counts"] == [0, 0, 1]
    client.call("POST", f"/meetings/{mid}/polls/{poll['id']}/close", token=host["token"])
    assert _list(client, mid, gus)[0]["counts"] == [0, 0, 1]


def _people(mid, *joined):
    for who in joined:
        _connect(mid, who["participant"]["id"], f"ws-{who['participant']['name']}-{mid}")


def _deliver(stream, gateway):
    return push.handle_stream({"Records": stream.records()}, push.Sender(gateway, load()))


def test_poll_events_show_counts_only_to_whom_they_are_visible(client, room, stream):
    mid, host, cole, gus, ola = room
    waiting = client.create(lobby=True)
    _people(mid, host, cole, gus, ola)
    stream.records()
    gateway = RecordingGateway()
    poll = _create(client, mid, host, results="closed", anonymous=True)
    _vote(client, mid, gus, poll, "o1")
    client.call("POST", f"/meetings/{mid}/polls/{poll['id']}/close", token=host["token"])
    _deliver(stream, gateway)

    def polls_to(name):
        return [(f["poll"]["state"], f["poll"]["counts"], f["poll"]["voters"])
                for f in gateway.to(f"ws-{name}-{mid}") if f["event"] == "poll"]

    for moderator in ("Hana", "Cole"):
        assert polls_to(moderator) == [("open", [0, 0, 0], 0), ("open", [0, 1, 0], 1),
                                       ("closed", [0, 1, 0], 1)]
    for guest in ("Gus", "Ola"):
        assert polls_to(guest) == [("open", None, 0), ("closed", [0, 1, 0], 1)]
    frames = [f for _, f in gateway.frames if f["event"] == "poll"]
    assert all(f["poll"]["myVote"] is None for f in frames)
    assert gus["participant"]["id"] not in str(frames) and "Gus" not in str(frames)
    assert waiting["meeting"]["id"] not in str(gateway.frames)

    live = _create(client, mid, host)
    _vote(client, mid, ola, live, "o0")
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    for name in ("Hana", "Cole", "Gus", "Ola"):
        assert polls_to(name) == [("open", [0, 0, 0], 0), ("open", [1, 0, 0], 1)]


def test_no_poll_event_reaches_the_lobby_or_anyone_gone(client, stream):
    created = client.create(lobby=True)
    mid = created["meeting"]["id"]
    host = client.join(mid, "Hana", hostKey=created["hostKey"])
    waiting = client.call("POST", f"/meetings/{mid}/join", {"name": "Wes"}).json
    _connect(mid, host["participant"]["id"], f"ws-host-{mid}")
    _connect(mid, waiting["participant"]["id"], f"ws-wes-{mid}")
    stream.records()
    poll = _create(client, mid, host)
    resp = _vote(client, mid, waiting, poll, "o0")
    assert (resp.status, resp.json["error"]["code"]) == (403, "participant_waiting")
    resp = client.call("GET", f"/meetings/{mid}/polls", token=waiting["token"])
    assert resp.status == 403
    gateway = RecordingGateway()
    _deliver(stream, gateway)
    assert [f["event"] for f in gateway.to(f"ws-host-{mid}")] == ["poll"]
    assert gateway.to(f"ws-wes-{mid}") == []


def _report(client, mid, who, fmt="json"):
    resp = client.call("GET", f"/meetings/{mid}/polls/report?format={fmt}", token=who["token"])
    return resp


def test_the_report_lists_counts_and_named_voters_as_json_and_csv(client, room):
    mid, host, cole, gus, ola = room
    named = _create(client, mid, host, question="=SUM(A1)", multiple=True)
    secret = _create(client, mid, host, question="Secret?", anonymous=True)
    _vote(client, mid, gus, named, "o0", "o2")
    _vote(client, mid, ola, named, "o1")
    _vote(client, mid, gus, secret, "o1")
    resp = _report(client, mid, gus)
    assert (resp.status, resp.json["error"]["code"]) == (403, "not_host")
    data = _report(client, mid, cole).json
    assert data["meeting"]["id"] == mid
    assert data["polls"][0] == {
        "question": "=SUM(A1)", "voters": 2,
        "options": [{"text": "Pizza", "votes": 1}, {"text": "Soup", "votes": 1},
                    {"text": "Salad", "votes": 1}],
        "votes": [{"name": "Gus", "options": ["Pizza", "Salad"]},
                  {"name": "Ola", "options": ["Soup"]}]}
    assert "votes" not in data["polls"][1] and data["polls"][1]["voters"] == 1
    assert "Gus" not in str(data["polls"][1])
    resp = client.http.get(f"/meetings/{mid}/polls/report?format=csv",
                           headers={"Authorization": f"Bearer {host['token']}"})
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.body.decode())))
    assert rows[0] == ["poll", "question", "option", "votes", "voter"]
    assert ["1", "'=SUM(A1)", "Pizza", "1", ""] in rows
    assert ["1", "'=SUM(A1)", "Pizza; Salad", "", "Gus"] in rows
    assert [r for r in rows if r[0] == "2"] == [["2", "Secret?", "Pizza", "0", ""],
                                                ["2", "Secret?", "Soup", "1", ""],
                                                ["2", "Secret?", "Salad", "0", ""]]
    assert _report(client, mid, host, "xml").status == 400


def test_report_email_is_never_shown_and_must_be_an_address(client):
    created = client.create(reportEmail="chair@example.org")
    assert "chair@example.org" not in str(created)
    mid = created["meeting"]["id"]
    assert "chair@example.org" not in str(client.call("GET", f"/meetings/{mid}").json)
    joined = client.join(mid, "Gus")
    assert "chair@example.org" not in str(joined)
    for bad in ("nobody", "a@b", "a b@example.com", "x@example.com\n", 5):
        resp = client.call("POST", "/meetings", {"name": "M", "reportEmail": bad})
        assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request"), bad


@pytest.fixture
def ses(monkeypatch):
    """moto's SES on a loopback port of its own (moto's `mock_aws` would also capture the
    embedded DynamoDB's calls), with a verified sender; yields moto's SES backend."""
    import boto3
    from moto.server import ThreadedMotoServer
    from moto.ses.models import ses_backends

    from harness.stack import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PARLEY_SES_ENDPOINT", endpoint)
    monkeypatch.setenv("PARLEY_REPORT_SENDER", "parley@example.net")
    monkeypatch.setattr(polls, "settings", load)
    boto3.client("ses", region_name="us-east-1", endpoint_url=endpoint).verify_email_identity(
        EmailAddress="parley@example.net")
    backend = ses_backends["123456789012"]["us-east-1"]
    backend.sent_messages.clear()
    yield backend
    server.stop()


def test_ending_the_meeting_emails_the_report_through_ses(client, room, ses):
    mid, host, _, gus, _ = room
    poll = _create(client, mid, host, question="Again next week?")
    _vote(client, mid, gus, poll, "o1")
    resp = client.call("DELETE", f"/meetings/{mid}", token=host["token"])
    assert resp.status == 204
    [sent] = ses.sent_messages
    assert sent.source == "parley@example.net"
    assert sent.destinations["ToAddresses"] == ["reports@example.com"]
    assert "Again next week?" in sent.body and "Gus: Soup" in sent.body
    assert sent.subject == "Poll results: Standup"


def test_without_a_sender_the_email_is_skipped_with_a_log_line(client, room, caplog):
    mid, host, _, _, _ = room
    _create(client, mid, host)
    from chalicelib.models import META_SK, Meeting
    meeting = Meeting.get(meeting_pk(mid), META_SK)
    with caplog.at_level("INFO", logger="parley"):
        assert polls.email_report(meeting) == "no-sender"
    assert "PARLEY_REPORT_SENDER not set" in caplog.text
    bare = client.create()
    meeting = Meeting.get(meeting_pk(bare["meeting"]["id"]), META_SK)
    assert polls.email_report(meeting) == "no-address"
