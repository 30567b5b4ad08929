"""The minute sweep: whoever has had no open WebSocket for 90 s is timed out, and only them.

Absences are notes written when someone joins and when their last socket closes; the
sweep reads the ones that are due. Every test sweeps at a moment just past the stale
limit of its own participants (`_due`), so notes of other tests are due too; assertions
are only about this test's people.
"""

import time

import pytest

from chalicelib import push, roster
from chalicelib.config import load
from chalicelib.models import (
    ABSENCE_PK,
    META_SK,
    Absence,
    Meeting,
    Participant,
    meeting_pk,
    participant_sk,
)
from tests.unit.test_connections import _event
from tests.unit.test_push import RecordingGateway


@pytest.fixture
def parley(app):
    import app as module

    return module


def _state(mid, pid):
    return Participant.get(meeting_pk(mid), participant_sk(pid), consistent_read=True).state


def _count(mid):
    return Meeting.get(meeting_pk(mid), META_SK, consistent_read=True).participant_count


def _absences_of(pid):
    return [a for a in Absence.query(ABSENCE_PK, consistent_read=True) if a.pid == pid]


def _due():
    return time.time() + roster.STALE_SECONDS + 1


def test_someone_who_joined_and_never_opened_a_socket_is_timed_out(client, meeting, parley):
    mid = meeting["meeting"]["id"]
    ghost = client.join(mid, "Ghost")["participant"]["id"]
    bob = client.join(mid, "Bob")
    parley.ws_connect(_event("$connect", f"ws-bob-{mid}", bob["token"]), None)
    roster.sweep(time.time())  # not due yet
    assert _state(mid, ghost) == "active"
    counts = roster.sweep(_due())
    assert counts["timed_out"] >= 1
    assert _state(mid, ghost) == "timeout"
    assert _count(mid) == 1
    assert _absences_of(ghost) == []


def test_someone_whose_last_socket_closed_is_timed_out_and_the_others_hear_it(
        client, meeting, parley, stream):
    mid = meeting["meeting"]["id"]
    ada = client.join(mid, "Ada")
    bob = client.join(mid, "Bob")
    parley.ws_connect(_event("$connect", f"ws-bob-{mid}", bob["token"]), None)
    parley.ws_connect(_event("$connect", f"ws-ada-{mid}", ada["token"]), None)
    roster.sweep(_due())  # the join notes: both are connected, nobody goes
    assert _state(mid, ada["participant"]["id"]) == "active"
    stream.records()
    parley.ws_disconnect(_event("$disconnect", f"ws-ada-{mid}"), None)
    assert len(_absences_of(ada["participant"]["id"])) == 1
    roster.sweep(_due())
    assert _state(mid, ada["participant"]["id"]) == "timeout"
    assert _state(mid, bob["participant"]["id"]) == "active"
    gateway = RecordingGateway()
    push.handle_stream({"Records": stream.records()}, push.Sender(gateway, load()))
    left = [f for f in gateway.to(f"ws-bob-{mid}") if f["event"] == "participant-left"]
    assert [(f["participant"]["id"], f["reason"]) for f in left] == [
        (ada["participant"]["id"], "timeout")]


def test_someone_who_came_back_keeps_the_seat(client, meeting, parley):
    mid = meeting["meeting"]["id"]
    ada = client.join(mid, "Ada")
    parley.ws_connect(_event("$connect", f"ws-ada-1-{mid}", ada["token"]), None)
    parley.ws_disconnect(_event("$disconnect", f"ws-ada-1-{mid}"), None)
    parley.ws_connect(_event("$connect", f"ws-ada-2-{mid}", ada["token"]), None)
    roster.sweep(_due())
    assert _state(mid, ada["participant"]["id"]) == "active"
    assert _absences_of(ada["participant"]["id"]) == []  # notes are deleted once looked at


def test_a_socket_renewed_before_the_old_one_closed_notes_no_absence(client, meeting, parley):
    mid = meeting["meeting"]["id"]
    ada = client.join(mid, "Ada")
    roster.sweep(_due())  # drops the join note while connected below
    parley.ws_connect(_event("$connect", f"ws-old-{mid}", ada["token"]), None)
    roster.sweep(_due())
    parley.ws_connect(_event("$connect", f"ws-new-{mid}", ada["token"]), None)
    parley.ws_disconnect(_event("$disconnect", f"ws-old-{mid}"), None)
    assert _absences_of(ada["participant"]["id"]) == []


def test_someone_who_left_is_not_counted_twice(client, meeting):
    mid = meeting["meeting"]["id"]
    ada = client.join(mid, "Ada")
    client.join(mid, "Bob")
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=ada["token"])
    roster.sweep(_due())
    assert _state(mid, ada["participant"]["id"]) == "left"
    assert _count(mid) == 0  # Bob (never connected) timed out, Ada's seat given back once


def test_after_a_local_restart_the_downtime_does_not_count_against_anyone(client, meeting, parley):
    mid = meeting["meeting"]["id"]
    ada = client.join(mid, "Ada")
    parley.ws_connect(_event("$connect", f"ws-ada-{mid}", ada["token"]), None)
    parley.ws_disconnect(_event("$disconnect", f"ws-ada-{mid}"), None)
    restarted = time.time() + roster.STALE_SECONDS + 60  # the stack was down for 150 s
    assert roster.excuse_absences(restarted) >= 1
    roster.sweep(restarted + 5)
    assert _state(mid, ada["participant"]["id"]) == "active"
    roster.sweep(restarted + roster.STALE_SECONDS + 1)
    assert _state(mid, ada["participant"]["id"]) == "timeout"
