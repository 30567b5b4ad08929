"""Restarting `make run` in the middle of a meeting is only a reconnect: media keeps flowing
peer to peer while the stack is down, both pages come back on their own (same tokens, same
people), and someone can join afterwards."""

import signal

import pytest

from .conftest import WAIT_MS, join, wait_remote_videos_playing, wait_until

# Every notice a page shows (they vanish after a few seconds), kept for the test to read.
TOAST_LOG = """
window.__toasts = [];
new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach((n) => {
  if (n.classList?.contains('toast')) window.__toasts.push(n.textContent);
}))).observe(document, {childList: true, subtree: true});
"""
# What a browser logs by itself while the server is unreachable.
UNREACHABLE = ("ERR_CONNECTION_REFUSED", "WebSocket connection to", "Failed to load resource")


@pytest.fixture
def stack(restartable):
    """A stack of this test's own on a fixed port and data directory, so it can restart."""
    return restartable


def tile(pid):
    return f'.tile[data-pid="{pid}"]'


def frames_keep_growing(person):
    before = person.evaluate("async () => await window.__parley.stats()")
    wait_until(person, """async before => {
          const now = await window.__parley.stats();
          return Object.entries(before).every(([pid, s]) => now[pid]?.framesDecoded > s.framesDecoded);
        }""", before)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_restart_in_the_middle_of_a_meeting_is_only_a_reconnect(stack, people, meeting, stop):
    mid = meeting(name="Restart")
    ada, bob = people(2, init_script=TOAST_LOG)
    ids = {"ada": join(ada, mid, "Ada"), "bob": join(bob, mid, "Bob")}
    for person in (ada, bob):
        wait_remote_videos_playing(person, 1)
    for person in (ada, bob):
        person.evaluate("window.__toasts.length = 0")

    if stop == signal.SIGKILL:
        stack.wait_for_snapshot()  # a kill loses the writes of the last ~2 s
    # SIGTERM: every socket closed with 1001, then the last snapshot; SIGKILL: neither, and
    # the next start gives the sockets left in the table their $disconnect
    stack.stop(stop)
    for person in (ada, bob):
        person.wait_for_selector("#reconnect-banner", state="visible")
        frames_keep_growing(person)  # peer to peer, no server needed

    stack.start()  # same port, same data directory
    for person in (ada, bob):
        person.wait_for_selector("#reconnect-banner", state="hidden", timeout=WAIT_MS)
    ada.wait_for_selector(tile(ids["bob"]))
    bob.wait_for_selector(tile(ids["ada"]))
    for person in (ada, bob):
        assert person.evaluate("document.querySelectorAll('#roster li').length") == 2
        assert person.evaluate("window.__toasts") == []  # nobody left or joined
        frames_keep_growing(person)
    health = stack.health()
    assert health["websockets"] == 2 and "kept in" in health["dataStore"]["description"]

    (cy,) = people(1)
    join(cy, mid, "Cy")
    for person in (ada, bob, cy):
        wait_remote_videos_playing(person, 2)
    for person in (ada, bob, cy):
        errors = [e for e in person.errors if not any(s in e for s in UNREACHABLE)]
        assert errors == [], person.errors
