"""The lobby and a scheduled start in real Chromium on the local stack: a guest waits until a
host admits them (or not), and a page opened before the start joins by itself at the time."""

import json
from datetime import UTC, datetime, timedelta

from harness.http import fetch

from .conftest import api_call, join_as_host, tools_ready, wait_remote_videos_playing


def try_to_join(person, mid, name):
    person.goto(f"/#/{mid}")
    person.fill("#display-name", name)
    person.click("#join-button")


def test_a_lobby_guest_is_admitted_and_another_is_denied(people, stack):
    created = api_call(stack, "POST", "/meetings", {"name": "With a lobby", "lobby": True})
    mid = created["meeting"]["id"]
    ada, bob, cy = people(3)
    join_as_host(ada, mid, created["hostKey"], "Ada")
    tools_ready(ada)

    try_to_join(bob, mid, "Bob")
    bob.wait_for_selector("#lobby >> text=Waiting to be let in")
    ada.wait_for_selector(".toast >> text=Bob is waiting to join")
    assert ada.text_content("#host-controls .count") == "1"
    ada.click("#toggle-people")
    ada.click('#lobby-queue li:has-text("Bob") .admit')
    bob.wait_for_selector(".room")
    wait_remote_videos_playing(bob, 1)
    wait_remote_videos_playing(ada, 1)
    ada.wait_for_selector("#lobby-queue", state="hidden")

    try_to_join(cy, mid, "Cy")
    cy.wait_for_selector("#lobby")
    ada.click('#lobby-queue li:has-text("Cy") .deny')
    cy.wait_for_selector("#denied >> text=You were not let in")
    assert bob.eval_on_selector_all(".tile", "ts => ts.length") == 2  # Cy never reached the room
    assert ada.errors == [] and bob.errors == [] and cy.errors == []


def test_waiting_guests_are_told_when_no_host_is_there(people, stack):
    created = api_call(stack, "POST", "/meetings", {"name": "Early guest", "lobby": True})
    mid = created["meeting"]["id"]
    ada, bob = people(2)
    try_to_join(bob, mid, "Bob")
    bob.wait_for_selector("#lobby-status", state="visible")  # nobody to let him in
    join_as_host(ada, mid, created["hostKey"], "Ada")
    bob.wait_for_selector("#lobby-status", state="hidden")
    bob.click("#leave-lobby")  # leaves the queue: the host's list empties
    bob.wait_for_selector(".prejoin")
    tools_ready(ada)
    ada.wait_for_selector("#lobby-queue", state="hidden")


def test_a_scheduled_meeting_joins_by_itself_when_the_countdown_ends(people, stack):
    starts = datetime.now(UTC) + timedelta(seconds=8)
    created = api_call(stack, "POST", "/meetings", {"name": "Standup",
                                                   "startsAt": starts.isoformat().replace("+00:00", "Z")})
    mid = created["meeting"]["id"]
    (bob,) = people(1)
    try_to_join(bob, mid, "Bob")
    bob.wait_for_selector("#not-started >> text=Standup has not started yet")
    assert "Joining by itself in" in bob.text_content("#countdown")
    bob.wait_for_selector(".room", timeout=30_000)
    assert datetime.now(UTC) >= starts
    # the join before the start answered 409, which Chromium logs; nothing else went wrong
    assert [e for e in bob.errors if "status of 409" not in e] == []


def test_creating_a_meeting_with_a_waiting_room_from_the_start_page(people, stack):
    (ada,) = people(1)
    ada.goto("/")
    ada.fill("#meeting-name", "Office hours")
    ada.check("#meeting-lobby")
    ada.click("#create-button")
    ada.wait_for_selector("#display-name")
    mid = ada.url.rsplit("#/", 1)[1]
    status, _, body = fetch(f"{stack.api}/meetings/{mid}")
    assert status == 200 and json.loads(body)["meeting"]["lobby"] is True
