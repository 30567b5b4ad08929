"""A runtime Bot in a meeting with real Chromium pages (fake camera and microphone) on the
local stack, joined with the invitation of a recording the host's page started: it
negotiates with the page's own peer.js, decodes the page's audio and video, follows a
renegotiation and a restart, and keeps its peers when its socket drops and comes back."""

import socket

from bots.runtime import Bot, BotConfig
from harness.stack import free_port
from tests.api.stack_client import Rest
from tests.browser import conftest as browser_suite
from tests.browser.conftest import join, wait_until

from .media import FrameCount

browser, people = browser_suite.browser, browser_suite.people  # the browser suite's fixtures


class Counter(Bot):
    """Counts the decoded frames of every person's tracks."""

    display_name = "Counter"

    def __init__(self, config):
        super().__init__(config)
        self.counts: dict[str, FrameCount] = {}

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


def host_page(person, stack, name: str, camera: bool = True) -> str:
    """A new meeting that `person` joins from the page as its host (the page that created a
    meeting keeps its host key), with the camera on or off: the meeting id."""
    created = Rest(stack.api).create(name)
    mid = created["meeting"]["id"]
    person.goto("/")
    person.evaluate("([k, v]) => sessionStorage.setItem(k, JSON.stringify(v))",
                    [f"parley.host.{mid}", created["hostKey"]])
    person.goto(f"/#/{mid}")
    person.fill("#display-name", "Ada")
    if not camera:
        person.wait_for_selector('#toggle-cam[data-on="true"]')
        person.click("#toggle-cam")  # joins with no video track at all
        person.wait_for_selector('#toggle-cam[data-on="false"]')
    person.click("#join-button")
    person.wait_for_selector(".room")
    return mid


def recorder_of(person, mid: str, launch) -> Counter:
    """The host's page starts a recording; the bot gets what the launcher gave the recorder."""
    token = person.evaluate("JSON.parse(sessionStorage.getItem('parley.session')).token")
    return Counter(BotConfig.from_env(launch(mid, token)))


def me(person) -> str:
    return person.evaluate("window.__parley.me")


def page_connected_to(person, bot_pid: str) -> None:
    wait_until(person, """async pid => (await window.__parley.stats())[pid]?.state === 'connected'""",
               bot_pid)


def test_a_bot_decodes_a_pages_camera_and_microphone_and_restarts_with_it(stack, people, run_bot,
                                                                           launch):
    (ada,) = people(1)
    mid = host_page(ada, stack, "Bot and Ada")
    ada_id = me(ada)
    runner = run_bot(recorder_of(ada, mid, launch))
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
    # the page heard it leave (its bye, then participant-left) and closed its peer
    wait_until(ada, "async pid => !(pid in await window.__parley.stats())", bot_id)
    assert ada.errors == []


def test_a_camera_turned_on_after_the_bot_joined_reaches_it_by_renegotiation(stack, people, run_bot,
                                                                              launch):
    (ada,) = people(1)
    mid = host_page(ada, stack, "Camera later", camera=False)
    ada_id = me(ada)
    runner = run_bot(recorder_of(ada, mid, launch))
    runner.wait_until(media_from(ada_id, video=0, pictures=0), "Ada's audio")
    assert runner.call(lambda: runner.bot.counts[ada_id].frames["video"]) == 0

    ada.click("#toggle-cam")  # the page adds a track and offers: same ICE session
    runner.wait_until(media_from(ada_id), "Ada's video after her camera came on")
    assert runner.call(lambda: runner.bot.peers[ada_id].rebuilds) == 0
    assert runner.stop() == 0
    assert ada.errors == []


def test_a_dropped_bot_socket_comes_back_replays_and_keeps_its_peers(stack, people, run_bot, launch):
    ada, bob = people(2)
    mid = host_page(ada, stack, "Bot, Ada and Bob")
    ada_id = me(ada)
    runner = run_bot(recorder_of(ada, mid, launch))
    bot = runner.bot
    runner.wait_until(lambda b: b.signaling and b.signaling.is_open(), "socket open")
    tickets = TicketLog(bot.signaling.on_ticket)
    runner.call(setattr, bot.signaling, "on_ticket", tickets)
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
    handled = runner.call(lambda: list(tickets.seen))
    ids = [tid for tid, _, _ in handled]
    assert ids == sorted(set(ids)), handled  # every ticket once, in order
    assert (bob_id, "description") in [(sender, kind) for _, sender, kind in handled]
    assert runner.stop() == 0
    assert ada.errors == [] and bob.errors == []


class TicketLog:
    """Stands in for the socket's on_ticket: notes (id, sender, kind) of each ticket handed
    on, then hands it on."""

    def __init__(self, on_ticket):
        self.on_ticket, self.seen = on_ticket, []

    def __call__(self, ticket):
        self.seen.append((ticket["id"], ticket["from"], ticket["kind"]))
        self.on_ticket(ticket)
