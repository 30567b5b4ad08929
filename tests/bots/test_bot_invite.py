"""A bot joins with the invitation the server's launcher gives it: a participant of role bot
that takes no seat and passes the lock, the lobby and the passcode; run again with the same
invitation (a restarted bot), it takes its earlier participant's place."""

from bots.runtime import Bot, BotConfig
from tests.api.stack_client import Rest, left


def test_an_invited_bot_joins_a_full_locked_meeting_as_a_bot_and_peers_with_everyone(
        stack, run_bot, launch):
    rest = Rest(stack.api)
    created = rest.create("Full", maxParticipants=2, passcode="4321", lobby=True)
    mid = created["meeting"]["id"]
    host = rest.join(mid, "Hana", hostKey=created["hostKey"])
    waiting = rest.wait(mid, "Gus", passcode="4321")
    reply = rest.call("POST", f"/meetings/{mid}/lobby/{waiting.pid}/admit", token=host.token)
    assert reply.status == 200, reply.json
    assert rest.call("PATCH", f"/meetings/{mid}", {"locked": True}, host.token).status == 200
    env = launch(mid, host.token, mode="av", reserve=False)
    config = BotConfig.from_env(env)
    assert (config.recording, config.options["mode"], config.options["reserve"]) == (
        env["PARLEY_BOT_RECORDING"], "av", False)

    with host.connect() as ws:
        first = run_bot(Bot(config))
        first.wait_until(lambda bot: bot.me, "joined")
        me = first.bot.join_response["participant"]
        assert (me["role"], me["bot"], me["recordingId"]) == ("bot", "recorder", config.recording)
        peers = first.wait_until(lambda bot: len(bot.peers) == 2 and set(bot.peers), "two peers")
        assert peers == {host.pid, waiting.pid}
        meeting = rest.call("GET", f"/meetings/{mid}").json["meeting"]
        assert meeting["participantCount"] == 2  # the bot took no seat

        # a restarted bot joins with the same invitation; its earlier participant leaves
        second = run_bot(Bot(config))
        second.wait_until(lambda bot: bot.me, "joined again")
        ws.wait_for(left(me["id"]))
        assert first.finish() == 0  # the first one heard it was gone and stopped
        assert first.bot.stop_reason == "removed"
        assert second.stop() == 0
