"""A runtime Bot in a meeting with real Chromium pages (fake camera and microphone) on the
local stack: it negotiates with the page's own peer.js, decodes the page's audio and
video, and keeps its peers when its socket drops and comes back."""

import socket

from bots.runtime import Bot
from harness.stack import free_port
from tests.api.stack_client import Rest
from tests.browser import conftest as browser_suite
from tests.browser.conftest import join, wait_until

from .conftest import config_for
from .media import FrameCount

browser, people = browser_suite.browser, browser_suite.people  # the browser suite's fixtures


class Counter(Bot):
    """Counts the decoded frames of every person's tracks."""

    display_name = "Counter"

    def __init__(self, config):
        super().__init__(config)
        self.counts: dict[str, FrameCount] = {}
        self.handled: list[str] = []  # ids of the tickets the socket handed on

    async def on_joined(self, join):
        self.joined = join

    async def on_track(self, pid, track):
        await self.counts.setdefault(pid, FrameCount()).consume(track)


def media_from(pid: str, audio: int = 50, video: int = 30, pictures: int = 5):
    """check(bot): at least this many audio and video frames decoded from `pid`, and that
    many different pictures among the video frames."""
    def check(bot):
        count = bot.counts.get(pid)
        return count and (count.frames["audio"] >= audio and count.frames["video"] >= video
                          and len(count.pictures) >= pictures) and dict(count.frames)
    return check


def page_connected_to(person, bot_pid: str) -> None:
    wait_until(person, """async pid => (await window.__parley.stats())[pid]?.state === 'connected'""",
               bot_pid)


def test_a_bot_decodes_a_pages_camera_and_microphone_and_restarts_with_it(stack, people, run_bot):
    mid = Rest(stack.api).create("Bot and Ada")["meeting"]["id"]
    (ada,) = people(1)
    ada_id = join(ada, mid, "Ada")
    runner = run_bot(Counter(config_for(stack, mid)))
    bot_id = runner.wait_until(lambda bot: bot.me, "joined")
    runner.wait_until(media_from(ada_id), "audio and changing video from Ada")
    page_connected_to(ada, bot_id)
    peer = runner.bot.peers[ada_id]
    assert peer.rebuilds == 0 and runner.bot.counts[ada_id].tracks == 2

    # A restart (after a failure, by the impolite side: made so here, whatever the ids say)
    # starts on a fresh aiortc connection with a new certificate; Chrome takes the new offer
    # as an ICE and DTLS restart, and media comes back on new tracks.
    before = runner.call(lambda: dict(runner.bot.counts[ada_id].frames))

    def restart():
        peer.polite, peer.restarted_at = False, float("-inf")
        peer.restart()
    runner.call(restart)
    runner.wait_until(media_from(ada_id, before["audio"] + 50, before["video"] + 30, pictures=10),
                      "media again after the restart")
    assert runner.call(lambda: (peer.rebuilds, runner.bot.counts[ada_id].tracks)) == (1, 4)
    page_connected_to(ada, bot_id)
    assert runner.stop() == 0
    # the page heard it leave (its bye, then participant-left) and dropped its tile
    ada.wait_for_function("pid => !document.querySelector(`.tile[data-pid='${pid}']`)", arg=bot_id)
    assert ada.errors == []


def test_a_camera_turned_on_after_the_bot_joined_reaches_it_by_renegotiation(stack, people, run_bot):
    mid = Rest(stack.api).create("Camera later")["meeting"]["id"]
    (ada,) = people(1)
    ada.goto(f"/#/{mid}")
    ada.fill("#display-name", "Ada")
    ada.wait_for_selector('#toggle-cam[data-on="true"]')
    ada.click("#toggle-cam")  # joins with the camera off: no video track at all
    ada.wait_for_selector('#toggle-cam[data-on="false"]')
    ada.click("#join-button")
    ada.wait_for_selector(".room")
    ada_id = ada.evaluate("window.__parley.me")
    runner = run_bot(Counter(config_for(stack, mid)))
    runner.wait_until(media_from(ada_id, video=0, pictures=0), "Ada's audio")
    assert runner.call(lambda: runner.bot.counts[ada_id].frames["video"]) == 0

    ada.click("#toggle-cam")  # the page adds a track and offers: same ICE session
    runner.wait_until(media_from(ada_id), "Ada's video after her camera came on")
    assert runner.call(lambda: runner.bot.peers[ada_id].rebuilds) == 0
    assert runner.stop() == 0
    assert ada.errors == []


def test_a_dropped_bot_socket_comes_back_replays_and_keeps_its_peers(stack, people, run_bot):
    mid = Rest(stack.api).create("Bot, Ada and Bob")["meeting"]["id"]
    ada, bob = people(2)
    ada_id = join(ada, mid, "Ada")
    runner = run_bot(Counter(config_for(stack, mid)))
    bot = runner.bot
    runner.wait_until(lambda b: b.signaling and b.signaling.is_open(), "socket open")
    runner.call(lambda: setattr(bot.signaling, "on_ticket", handled_by(bot, bot.signaling.on_ticket)))
    runner.wait_until(media_from(ada_id), "media from Ada")
    ada_peer = bot.peers[ada_id]
    live = bot.signaling.url

    def drop():  # the network goes away, and stays away until the test says
        bot.signaling.url = f"ws://127.0.0.1:{free_port()}/ws"
        bot.signaling.ws.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
    runner.call(drop)
    runner.wait_until(lambda b: not b.signaling.is_open(), "socket down")

    bob_id = join(bob, mid, "Bob")  # Bob offers to the bot, whose socket is down
    wait_until(bob, "() => window.__parley && true")
    assert runner.call(lambda: bob_id not in bot.peers and bot.signaling.attempt > 0)
    before = runner.call(lambda: dict(bot.counts[ada_id].frames))
    runner.call(lambda: setattr(bot.signaling, "url", live))

    runner.wait_until(lambda b: b.signaling.is_open(), "socket open again")
    runner.wait_until(media_from(bob_id), "media from Bob, negotiated by replayed tickets")
    page_connected_to(bob, bot.me)
    # Ada's peer lived on: the same connection, still decoding
    assert runner.call(lambda: bot.peers[ada_id] is ada_peer and ada_peer.rebuilds == 0)
    runner.wait_until(media_from(ada_id, before["audio"] + 50, before["video"] + 30), "more from Ada")
    handled = runner.call(lambda: list(bot.handled))
    assert len(handled) == len(set(handled)), handled  # every ticket once
    assert handled == sorted(handled)
    assert any(t == "description" for t in runner.call(lambda: bot.kinds_from(bob_id)))
    assert runner.stop() == 0
    assert ada.errors == [] and bob.errors == []


def handled_by(bot, on_ticket):
    """on_ticket that also notes each ticket's id and, per sender, its kind."""
    bot.kinds = {}
    bot.kinds_from = lambda pid: bot.kinds.get(pid, [])

    def note(ticket):
        bot.handled.append(ticket["id"])
        bot.kinds.setdefault(ticket["from"], []).append(ticket["kind"])
        on_ticket(ticket)
    return note
