"""Running an async test body from a synchronous test."""

import asyncio
import threading


def run_async(main, timeout: float = 60):
    """asyncio.run(main()) within `timeout` seconds, in a thread of its own: the browser tests'
    Playwright keeps an event loop running in the main thread for the whole session, where
    asyncio.run refuses to start."""
    outcome = {}

    def body():
        try:
            outcome["value"] = asyncio.run(asyncio.wait_for(main(), timeout))
        except BaseException as err:  # re-raised in the test's thread
            outcome["error"] = err

    thread = threading.Thread(target=body, name="async test")
    thread.start()
    thread.join(timeout + 30)
    assert not thread.is_alive(), "the async test body did not finish"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
