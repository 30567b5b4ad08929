"""A bot joins with the invite the server's launcher gives it: a participant of role bot that
takes no seat. Skipped while the server does not take `botToken` on join yet."""

import time

import jwt
import pytest

from bots.runtime import Bot, BotConfig
from harness.stack import free_port, running_stack
from tests.api.stack_client import Rest

SECRET = "bot-invite-test-secret-0123456789abcdef"


def invite(mid: str, rid: str) -> str:
    """What the launcher hands a recorder (signed with the app's secret)."""
    now = int(time.time())
    return jwt.encode({"mid": mid, "rid": rid, "role": "bot-invite", "bot": "recorder",
                       "iat": now, "exp": now + 3600}, SECRET, algorithm="HS256")


def test_a_bot_with_an_invite_joins_as_a_bot_without_taking_a_seat(stack, tmp_path, run_bot):
    rest = Rest(stack.api)
    mid = rest.create("Probe")["meeting"]["id"]
    probe = rest.call("POST", f"/meetings/{mid}/join", {"name": "Recorder", "botToken": "no-invite"})
    if probe.status == 400:
        pytest.skip("the server does not take botToken on join yet (it comes with the recordings API)")
    assert (probe.status, probe.json["error"]["code"]) == (403, "invalid_bot_token")

    # A stack whose secret the test knows, so it can sign the invite the launcher would give;
    # the recorder the launcher starts cannot reach this API URL and gives up.
    with running_stack(tmp_path / "devserver.log", PARLEY_JWT_SECRET=SECRET, PARLEY_BOT_LAUNCHER="local",
                       PARLEY_API_URL=f"http://127.0.0.1:{free_port()}/api") as own:
        rest = Rest(own.api)
        created = rest.create("Full", maxParticipants=2)
        mid = created["meeting"]["id"]
        host = rest.join(mid, "Hana", hostKey=created["hostKey"])
        guest = rest.join(mid, "Gus")  # every seat taken
        started = rest.call("POST", f"/meetings/{mid}/recordings", {"mode": "audio"}, host.token)
        assert started.status == 201, started.json
        rid = started.json["recording"]["id"]
        config = BotConfig.from_env({"PARLEY_API_URL": own.api, "PARLEY_BOT_MEETING": mid,
                                     "PARLEY_BOT_RECORDING": rid, "PARLEY_BOT_TOKEN": invite(mid, rid),
                                     "PARLEY_BOT_NAME": "Recorder"})
        runner = run_bot(Bot(config))
        runner.wait_until(lambda bot: bot.me, "joined")
        me = runner.bot.join_response["participant"]
        assert (me["role"], me["bot"], me["recordingId"]) == ("bot", "recorder", rid)
        assert set(runner.wait_until(lambda bot: len(bot.peers) == 2 and bot.peers, "peers")) == {
            host.pid, guest.pid}
        assert runner.stop() == 0
