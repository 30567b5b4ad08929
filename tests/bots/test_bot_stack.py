"""A runtime Bot against the running local stack, without a browser: how it joins (with the
launcher's invitation, or as a guest), and every way it stops — by itself when only bots
are left, when the meeting ends, when a host removes it, on SIGTERM — each time leaving
the meeting cleanly."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bots.runtime import Bot, BotConfig
from tests.api.stack_client import Rest, left, updated

from .conftest import config_for

ROOT = Path(__file__).resolve().parents[2]


class Watcher(Bot):
    """Remembers the events it heard and why it stopped."""

    display_name = "Watcher"

    def __init__(self, config):
        super().__init__(config)
        self.stopped_with = None
        self.heard = []

    async def on_event(self, event):
        self.heard.append((event["event"], (event.get("participant") or {}).get("id")))

    async def on_stop(self, reason):
        self.stopped_with = reason


def eventually(fn, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (value := fn()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return value


def present(rest: Rest, person) -> list[dict]:
    reply = rest.call("GET", f"/meetings/{person.mid}/participants", token=person.token)
    assert reply.status == 200, reply.json
    return reply.json["participants"]


def test_a_bot_alone_in_a_meeting_leaves_after_the_idle_time(stack, run_bot, launch):
    rest = Rest(stack.api)
    created = rest.create("Emptied")
    mid = created["meeting"]["id"]
    host = rest.join(mid, "Hana", hostKey=created["hostKey"])
    env = launch(mid, host.token)
    host.leave()  # nobody but the bot will be here
    runner = run_bot(Watcher(BotConfig.from_env({**env, "PARLEY_BOT_IDLE_SECONDS": "1"})))
    assert runner.finish() == 0
    assert runner.bot.join_response["participant"]["role"] == "bot"
    assert runner.bot.stopped_with == "idle"
    late = rest.join(mid, "Late")
    assert [p["id"] for p in present(rest, late)] == [late.pid]  # the bot left


@pytest.mark.parametrize("ending", ["meeting-ended", "removed"])
def test_a_bot_stops_when_the_meeting_ends_or_a_host_removes_it(stack, run_bot, launch, ending):
    rest = Rest(stack.api)
    created = rest.create("Ends")
    mid = created["meeting"]["id"]
    host = rest.join(mid, "Hana", hostKey=created["hostKey"])
    env = launch(mid, host.token)
    with host.connect() as ws:
        runner = run_bot(Watcher(BotConfig.from_env(env)))
        bot_id = ws.wait_for(lambda e: e.get("event") == "participant-joined")["participant"]["id"]
        assert runner.wait_until(lambda bot: bot.me, "joined") == bot_id
        ws.wait_for(updated(bot_id, connected=True))  # its socket is open: it hears the end
        if ending == "meeting-ended":
            assert rest.call("DELETE", f"/meetings/{mid}", token=host.token).status == 204
        else:
            reply = rest.call("DELETE", f"/meetings/{mid}/participants/{bot_id}", token=host.token)
            assert reply.status == 204, reply.json
        assert runner.finish() == 0
    # by the event, or by the refusal of a request made meanwhile: the same reason either way
    assert runner.bot.stopped_with == ending
    assert runner.bot.peers == {}  # the peer with the host was closed


def test_a_guest_bot_offers_to_everyone_there_and_to_a_later_joiner_who_does_not_offer(stack, run_bot):
    rest = Rest(stack.api)
    mid = rest.create("Offers")["meeting"]["id"]
    ada = rest.join(mid, "Ada")
    runner = run_bot(Watcher(config_for(stack, mid)))
    runner.wait_until(lambda bot: bot.me, "joined")
    assert runner.bot.join_response["participant"]["name"] == "Watcher"
    offer = eventually(lambda: ada.replay(), "the bot's offer to Ada")[0]
    assert (offer["from"], offer["kind"], offer["data"]["type"]) == (runner.bot.me, "description", "offer")
    # aiortc gathers before it describes: the offer carries its candidates, none trickle
    assert "a=candidate:" in offer["data"]["sdp"]
    assert list(runner.bot.participants) == [ada.pid]

    # A later joiner is expected to offer; one who does not (Bob never will) gets our offer
    # after the wait, and the bot heard of the join through on_event too
    bob = rest.join(mid, "Bob")
    runner.wait_until(lambda bot: ("participant-joined", bob.pid) in bot.heard, "Bob's join heard")
    offers = eventually(lambda: [t for t in bob.replay() if t["kind"] == "description"],
                        "the bot's offer to Bob")
    assert (offers[0]["from"], offers[0]["data"]["type"]) == (runner.bot.me, "offer")
    assert list(runner.bot.participants) == [ada.pid, bob.pid]

    assert runner.stop() == 0
    assert [t["kind"] for t in ada.replay()][-1] == "bye"
    assert [t["kind"] for t in bob.replay()][-1] == "bye"


SCRIPT = textwrap.dedent("""
    import asyncio, logging, sys
    from bots.runtime import Bot, BotConfig
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    sys.exit(asyncio.run(Bot(BotConfig.from_env()).run()))
""")


def test_sigterm_makes_a_bot_process_leave_and_exit_0(stack, tmp_path, launch):
    rest = Rest(stack.api)
    created = rest.create("Signal")
    mid = created["meeting"]["id"]
    host = rest.join(mid, "Hana", hostKey=created["hostKey"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(launch(mid, host.token, mode="audio"))  # what the launcher gives a recorder
    log = tmp_path / "bot.log"
    with host.connect() as ws, open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, stderr=out)
        try:
            bot = ws.wait_for(lambda e: e.get("event") == "participant-joined")["participant"]
            ws.wait_for(updated(bot["id"], connected=True))
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        gone = ws.wait_for(left(bot["id"]))
    assert (bot["role"], bot["name"]) == ("bot", "Bot")
    assert gone["reason"] == "left"
    assert "stopping: signal" in log.read_text()
