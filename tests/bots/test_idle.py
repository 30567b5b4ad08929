"""The idle rule's clock: only bots present for `seconds` stops a bot, and nothing else does."""

import asyncio

from bots.runtime.idle import IdleTimer

from .aio import run_async


def run(test):
    run_async(test, timeout=10)


def test_an_empty_meeting_fires_after_the_idle_time():
    async def test():
        fired = asyncio.Event()
        loop = asyncio.get_running_loop()
        timer = IdleTimer(0.3, fired.set)
        start = loop.time()
        timer.update(people_present=False)
        await fired.wait()
        assert loop.time() - start >= 0.29
        assert not timer.running
    run(test)


def test_a_person_arriving_stops_the_clock_and_leaving_starts_it_afresh():
    async def test():
        fired = []
        timer = IdleTimer(0.3, lambda: fired.append(True))
        timer.update(False)
        await asyncio.sleep(0.2)
        timer.update(True)  # someone came
        await asyncio.sleep(0.3)
        assert fired == [] and not timer.running
        timer.update(False)  # and left: a full period again
        await asyncio.sleep(0.2)
        assert fired == []
        await asyncio.sleep(0.2)
        assert fired == [True]
    run(test)


def test_changes_among_bots_do_not_postpone_the_stop():
    async def test():
        fired = []
        timer = IdleTimer(0.3, lambda: fired.append(True))
        timer.update(False)
        for _ in range(4):  # another bot joins, leaves, ...
            await asyncio.sleep(0.1)
            timer.update(False)
        assert fired == [True]
    run(test)
