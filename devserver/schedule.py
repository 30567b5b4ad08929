"""The app's scheduled functions (the autoclear purge), run hourly instead of on their cron.

Locally nobody waits for 02:00 UTC; running hourly keeps a long-lived store tidy, and the
purge is idempotent, so running it more often than in AWS changes nothing but timing.
Nothing else can trigger it: there is no endpoint for it.
"""

import asyncio
import logging
import time
import uuid

from .logs import Stopwatch

log = logging.getLogger("cron")
INTERVAL = 60 * 60
FIRST_RUN = 60  # a minute after start: clears what a persistent store kept since last time


def scheduled_event(name: str, region: str) -> dict:
    """The CloudWatch Events (EventBridge) event a scheduled Lambda receives."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "000000000000",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": region,
        "resources": [f"arn:aws:events:{region}:000000000000:rule/parley-local-{name}"],
        "detail": {},
    }


async def run(entries: list, region: str, after_run, first_run: float = FIRST_RUN) -> None:
    """Call each scheduled entry every INTERVAL seconds until cancelled."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(first_run)
    while True:
        for entry in entries:
            clock = Stopwatch()
            try:
                result = await loop.run_in_executor(None, entry, scheduled_event(entry.name, region))
                log.info("%s -> %s in %.1f ms", entry.name, result, clock.ms)
            except Exception:
                log.exception("%s failed; next run in %d min", entry.name, INTERVAL // 60)
            finally:
                after_run()
        await asyncio.sleep(INTERVAL)
