"""The daily purge deletes whole old meetings (polls and votes too), keeps new ones, and can
run twice."""

from datetime import timedelta

from chalicelib import autoclear
from chalicelib.config import load
from chalicelib.models import (
    CONNECTION_SK,
    META_SK,
    Connection,
    Item,
    Meeting,
    Ticket,
    TicketCounter,
    connection_pk,
    meeting_pk,
    now,
)


def _age(mid, hours):
    Meeting(meeting_pk(mid), META_SK).update(
        actions=[Meeting.created_at.set(now() - timedelta(hours=hours))])


def _items(mid):
    return list(Item.query(meeting_pk(mid)))


def test_purge_deletes_every_item_of_old_meetings_only(client):
    old, fresh = client.create("old")["meeting"]["id"], client.create("fresh")["meeting"]["id"]
    for mid in (old, fresh):
        a, b = client.join(mid, "A"), client.join(mid, "B")
        client.call("POST", f"/meetings/{mid}/tickets", {"to": b["participant"]["id"],
                                                        "kind": "bye", "key": "k1"},
                    token=a["token"])
        client.call("POST", f"/meetings/{mid}/messages", {"text": "hi"}, token=a["token"])
        client.call("POST", f"/meetings/{mid}/messages",
                    {"text": "psst", "to": b["participant"]["id"]}, token=a["token"])
        client.call("POST", f"/meetings/{mid}/reactions", {"emoji": "👏"}, token=b["token"])
    _age(old, 49)
    counts = autoclear.purge(load())
    assert counts["meetings"] >= 1 and counts["items"] >= 10
    assert _items(old) == []
    # META, SECRET, 2 participants, ticket, its key, the recipient's ticket counter,
    # 2 messages, reaction
    assert len(_items(fresh)) == 10
    assert client.call("GET", f"/meetings/{old}").status == 404


def test_purge_is_idempotent(client):
    mid = client.create()["meeting"]["id"]
    _age(mid, 100)
    autoclear.purge(load())
    again = autoclear.purge(load())
    assert again["meetings"] == 0 and _items(mid) == []


def test_purge_handles_many_meetings_across_pages(client):
    mids = [client.create(f"m{i}")["meeting"]["id"] for i in range(30)]
    for mid in mids:
        _age(mid, 72)
    autoclear.purge(load())
    assert all(_items(mid) == [] for mid in mids)


def test_purge_removes_stale_connection_lookups(dynamo):
    Connection(connection_pk("stale-1"), CONNECTION_SK, mid="x", pid="y",
               created_at=now() - timedelta(days=5)).save()
    Connection(connection_pk("live-1"), CONNECTION_SK, mid="x", pid="y", created_at=now()).save()
    autoclear.purge(load())
    remaining = {c.connection_id for c in Connection.scan()}
    assert "stale-1" not in remaining and "live-1" in remaining


def test_retention_is_configurable(client, monkeypatch):
    mid = client.create()["meeting"]["id"]
    _age(mid, 2)
    monkeypatch.setenv("PARLEY_RETENTION_HOURS", "1")
    autoclear.purge(load())
    assert _items(mid) == []


def test_purge_is_daily_at_two_and_the_sweep_every_minute(app):
    rules = {s.name: s.schedule_expression.to_string() for s in app.event_sources
             if type(s).__name__ == "ScheduledEventConfig"}
    assert rules == {"purge_old_meetings": "cron(0 2 * * ? *)",
                     "sweep_absent_participants": "rate(1 minute)"}


def test_purge_racing_joins_and_tickets_never_shows_a_half_deleted_meeting_as_open(client):
    import threading

    from chalicelib import meetings, push, signaling
    from chalicelib.errors import ApiError
    from tests.fixtures.dynamo import direct_request
    from tests.unit.test_push import RecordingGateway

    mid = client.create(maxParticipants=8)["meeting"]["id"]
    first = client.join(mid, "first")
    second = client.join(mid, "second")
    _age(mid, 60)
    seen, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            seen.append(client.call("GET", f"/meetings/{mid}").status)

    def join_and_post(i):
        try:
            meetings.join(mid, direct_request({"name": f"j{i}"}))
        except ApiError:
            pass
        try:
            signaling.post(mid, direct_request({"to": second["participant"]["id"], "kind": "bye"},
                                               first["token"]), push.Sender(RecordingGateway(), load()))
        except ApiError:
            pass

    watcher = threading.Thread(target=watch)
    watcher.start()
    workers = [threading.Thread(target=join_and_post, args=(i,)) for i in range(6)]
    for w in workers:
        w.start()
    autoclear.purge(load())
    for w in workers:
        w.join()
    stop.set()
    watcher.join()
    closed = [i for i, status in enumerate(seen) if status != 200]
    assert all(status != 200 for status in seen[closed[0]:]) if closed else True
    assert client.call("GET", f"/meetings/{mid}").status == 404
    leftovers = _items(mid)
    # at most a late ticket (1 h TTL) and the counter its transaction wrote (TTL too)
    assert all(isinstance(item, Ticket | TicketCounter) and item.expires for item in leftovers)


def test_purge_takes_polls_and_votes_with_the_meeting(client):
    created = client.create("polled")
    mid = created["meeting"]["id"]
    host = client.join(mid, "H", hostKey=created["hostKey"])
    guest = client.join(mid, "G")
    poll = client.call("POST", f"/meetings/{mid}/polls",
                       {"question": "Q?", "options": ["a", "b"]}, token=host["token"]).json
    assert client.call("POST", f"/meetings/{mid}/polls/{poll['poll']['id']}/votes",
                       {"options": ["o1"]}, token=guest["token"]).status == 201
    kinds = {type(i).__name__ for i in _items(mid)}
    assert {"Poll", "Vote"} <= kinds
    _age(mid, 49)
    autoclear.purge(load())
    assert _items(mid) == []
