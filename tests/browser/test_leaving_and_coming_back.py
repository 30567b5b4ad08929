"""Leaving a meeting by any path, and coming back: only a reload of the room page itself
rejoins at once; everything else shows the pre-join screen first, and nobody stays
behind as a ghost."""

import json

from harness.http import fetch

from .conftest import join, wait_remote_videos_playing


def tile(pid):
    return f'.tile[data-pid="{pid}"]'


def roster_of(stack, mid, token):
    """The participant ids the server counts as present, asked with `token`."""
    status, _, raw = fetch(f"{stack.api}/meetings/{mid}/participants",
                           headers={"Authorization": f"Bearer {token}"})
    assert status == 200, raw
    return [p["id"] for p in json.loads(raw)["participants"]]


def token_of(person):
    return person.evaluate("JSON.parse(sessionStorage.getItem('parley.session')).token")


def shows_prejoin(person):
    person.wait_for_selector("#join-button")
    assert person.query_selector(".room") is None


def test_back_then_the_link_again_shows_the_prejoin_screen_not_the_room(people, meeting):
    mid = meeting()
    ada, bob = people(2)
    join(ada, mid, "Ada")
    bob.goto("/")  # so that Back stays on this page: landing, then the meeting
    bob_id = join(bob, mid, "Bob")
    wait_remote_videos_playing(ada, 1)

    bob.go_back()  # within the page: the hash changes back to the landing page
    bob.wait_for_selector(".landing")
    ada.wait_for_selector(tile(bob_id), state="detached")
    bob.go_forward()  # the meeting link again
    shows_prejoin(bob)

    second_id = join(bob, mid, "Bob")
    ada.wait_for_selector(tile(second_id))
    bob.goto("about:blank")  # Back to another page: this document is gone
    ada.wait_for_selector(tile(second_id), state="detached")
    bob.go_back()
    shows_prejoin(bob)
    ada.wait_for_timeout(1000)  # nobody joined behind the pre-join screen
    assert ada.query_selector_all(".tile:not(.self)") == []


def test_a_reload_whose_leave_request_failed_leaves_no_ghost(people, meeting, stack):
    mid = meeting()
    ada, bob = people(2)
    join(ada, mid, "Ada")
    old_bob = join(bob, mid, "Bob")
    wait_remote_videos_playing(ada, 1)

    # the reloading page's leave request (pagehide, keepalive) never reaches the server;
    # the reloaded page has a fetch of its own
    bob.evaluate("""() => {
      const send = window.fetch;
      window.fetch = (url, init) => init?.method === 'DELETE'
        ? Promise.reject(new TypeError('the network dropped it')) : send(url, init);
    }""")
    bob.reload()
    bob.wait_for_selector(".room")
    new_bob = bob.evaluate("window.__parley.me")
    assert new_bob != old_bob

    assert roster_of(stack, mid, token_of(ada)).count(old_bob) == 0
    ada.wait_for_selector(tile(old_bob), state="detached")
    ada.wait_for_selector(tile(new_bob))
    ada.click("#toggle-people")
    ada.wait_for_function("() => document.querySelectorAll('#roster li').length === 2")
    assert ada.eval_on_selector_all(".tile:not(.self) .name", "els => els.map(e => e.textContent)") == ["Bob"]
    wait_remote_videos_playing(ada, 1)
