"""The bot tests' local stack, whose launcher starts a stand-in recorder that writes down the
environment it was given (tests/fixtures/fake_recorder.py): a test starts a recording and
runs the runtime with that environment, invitation included, as the real recorder gets it.
And running a runtime Bot from a synchronous test: its own event loop in a thread, stopped
(and waited for) when the test ends, whatever happened."""

import asyncio
import concurrent.futures
import json
import threading
import time

import pytest

from bots.runtime import Bot, BotConfig
from harness.stack import running_stack
from tests.api.stack_client import Rest

WAIT = 90  # a ceiling for slow shared machines, never a timing assertion
FAKE_BOT = "tests.fixtures.fake_recorder"


@pytest.fixture(scope="session")
def bot_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bots")


@pytest.fixture(scope="session")
def stack(tmp_path_factory, bot_dir):
    """This folder's stack (the browser fixtures' pages open it too)."""
    with running_stack(tmp_path_factory.mktemp("bot-stack") / "devserver.log",
                       PARLEY_BOT_MODULE=FAKE_BOT, PARLEY_BOT_WORKDIR=str(bot_dir),
                       PARLEY_RECORDINGS_BUCKET="parley-recordings",
                       PARLEY_BOT_LOG_DIR=str(bot_dir / "logs")) as running:
        yield running


@pytest.fixture
def launch(stack, bot_dir):
    """launch(mid, host_token, **recording) -> the environment the launcher gave the bot of
    a recording the host starts (PARLEY_API_URL, PARLEY_BOT_TOKEN, ...)."""
    def start(mid: str, host_token: str, **body) -> dict:
        reply = Rest(stack.api).call("POST", f"/meetings/{mid}/recordings", body, host_token)
        assert reply.status == 201, reply.json
        path = bot_dir / f"{reply.json['recording']['id']}.json"
        deadline = time.monotonic() + WAIT
        while not path.exists():
            assert time.monotonic() < deadline, "the launcher started no bot"
            time.sleep(0.05)
        return json.loads(path.read_text())["env"]
    return start


class BotRunner:
    def __init__(self, bot: Bot):
        self.bot = bot
        self.loop = asyncio.new_event_loop()
        self.result: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="bot", daemon=True)
        self.thread.start()

    def _main(self) -> None:
        try:
            self.result = self.loop.run_until_complete(self.bot.run())
        except BaseException as err:  # reported by finish()
            self.error = err
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def call(self, fn, *args):
        """fn(*args) on the bot's loop (its state is only read or changed there); a
        coroutine function is awaited."""
        async def inside():
            out = fn(*args)
            return await out if asyncio.iscoroutine(out) else out
        try:
            return asyncio.run_coroutine_threadsafe(inside(), self.loop).result(WAIT)
        except concurrent.futures.TimeoutError:
            raise AssertionError(f"the bot's loop did not run {fn}") from None

    def wait_until(self, check, what: str, timeout: float = WAIT):
        """Poll check(bot) on the bot's loop until it is truthy; returns that value."""
        deadline = time.monotonic() + timeout
        while self.thread.is_alive():
            value = self.call(check, self.bot)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout} s: {what}")
            time.sleep(0.2)
        raise AssertionError(f"the bot ended ({self.result!r}, {self.error!r}) before: {what}")

    def finish(self, timeout: float = WAIT) -> int:
        """Wait for run() to return (after the bot was asked to stop or stopped itself)."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the bot did not finish"
        if self.error is not None:
            raise self.error
        return self.result

    def stop(self, reason: str = "stopped", timeout: float = WAIT) -> int:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.bot.stop, reason)
        return self.finish(timeout)


@pytest.fixture
def run_bot():
    """run_bot(bot) -> a BotRunner with the bot running; every one is stopped after the test."""
    runners = []

    def start(bot: Bot) -> BotRunner:
        runners.append(BotRunner(bot))
        return runners[-1]

    yield start
    for runner in runners:
        if runner.thread.is_alive():
            try:
                runner.stop("stopped", timeout=30)
            except Exception:  # noqa: S110 (the test's own failure is the one to report)
                pass


def config_for(stack, mid: str, **extra) -> BotConfig:
    """A bot without an invitation: it joins as a guest."""
    return BotConfig(api_url=stack.api, meeting=mid, **extra)
