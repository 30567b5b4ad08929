"""Running a runtime Bot from a synchronous test: its own event loop in a thread, stopped
(and waited for) when the test ends, whatever happened."""

import asyncio
import concurrent.futures
import threading
import time

import pytest

from bots.runtime import Bot, BotConfig

WAIT = 90  # a ceiling for slow shared machines, never a timing assertion


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
    return BotConfig(api_url=stack.api, meeting=mid, **extra)
