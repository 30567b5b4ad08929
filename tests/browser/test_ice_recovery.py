"""A call whose network is cut for a few seconds recovers without anyone rejoining, and only
one side (the impolite one) restarts ICE.

How the network is cut: Playwright's `context.set_offline(True)` makes the page offline for
its HTTP requests and fires `offline` / `online`, but Chromium's WebRTC does not go through
that emulation: a loopback call went on decoding frames through a whole offline spell, and the
WebSocket stayed open. So the call is relayed (the turn_stack's pages use relay candidates
only: their media's one path is its coturn) and that path is cut for real by stopping coturn
(SIGSTOP). The impolite page is set offline too. Once both connections have noticed and the
impolite side has restarted ICE, that page comes back `online` first, while the relay is still
cut, and restarts again at once; then coturn goes on (SIGCONT)."""

import os
import signal
from pathlib import Path

from .conftest import api_call, join, save_rtc_traces, tools_ready, wait_remote_videos_playing, wait_until

PEER_TRACE = "() => window.__rtcTrace().filter((pc) => pc.state !== 'closed')"
RESTARTS = "() => window.__rtcTrace().flatMap((pc) => pc.trace).filter((e) => e[1] === 'restartIce').length"
DISCONNECTED = """() => window.__rtcTrace().some((pc) => pc.trace.some((e) => e[1] === 'connectionstatechange'
  && e[2] === 'disconnected'))"""


def child_named(pid, name):
    """The pid of the child process of `pid` whose command is `name` (the stack's coturn)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if Path(f"/proc/{child}/comm").read_text().strip() == name:
                return int(child)
    raise LookupError(f"no {name} under process {pid}")


def test_a_call_cut_off_for_seconds_recovers_its_media_without_rejoining_restarted_from_one_side(
        relayed_pair, turn_stack):
    ada, bob = relayed_pair
    mid = api_call(turn_stack, "POST", "/meetings", {"name": "Cut off"})["meeting"]["id"]
    ids = {join(ada, mid, "Ada"): ada, join(bob, mid, "Bob"): bob}
    for person in (ada, bob):
        wait_remote_videos_playing(person, 1)
        tools_ready(person)  # ICE recovery on `online` comes with the room's tools
        person.evaluate("window.__sameVisit = true")  # a reload or a new join would lose it
    impolite, polite = ids[min(ids)], ids[max(ids)]  # polite = the larger participant id
    credentials = {pid: person.evaluate(PEER_TRACE)[0]["local"] for pid, person in ids.items()}

    coturn = child_named(turn_stack.pid, "turnserver")
    impolite.context.set_offline(True)
    os.kill(coturn, signal.SIGSTOP)
    try:
        for person in (ada, bob):  # the cut is real: both connections notice
            wait_until(person, DISCONNECTED, timeout=60_000)
        restarts = wait_until(impolite, RESTARTS, timeout=30_000)  # after 2.5 s of it, one side restarts
        # back online (the relay still cut), the impolite page restarts again at once
        impolite.context.set_offline(False)
        wait_until(impolite, f"() => ({RESTARTS})() > {restarts}")
    finally:
        impolite.context.set_offline(False)
        os.kill(coturn, signal.SIGCONT)

    for person in (ada, bob):  # frames decoding again, on both sides
        wait_remote_videos_playing(person, 1)
    for pid, person in ids.items():  # the restart was negotiated: both ends have new ICE credentials
        wait_until(person, """old => {
          const pcs = window.__rtcTrace().filter((pc) => pc.state !== 'closed');
          return pcs.length === 1 && pcs[0].state === 'connected' && pcs[0].sig === 'stable'
            && pcs[0].local !== old;
        }""", credentials[pid])
    assert polite.evaluate(RESTARTS) == 0, save_rtc_traces(polite)
    assert impolite.evaluate(RESTARTS) >= 1
    for pid, person in ids.items():  # nobody rejoined: the same visit, the same participant
        assert person.evaluate("window.__sameVisit && window.__parley.me") == pid
        assert len(person.query_selector_all(".tile:not(.self)")) == 1
    assert ada.errors == [] and bob.errors == []
