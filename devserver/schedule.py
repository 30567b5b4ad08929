"""The app's scheduled functions, run locally more often than their schedule says.

Locally nobody waits for 02:00 UTC: a cron function (the autoclear purge) runs hourly
(or as often as the retention period, if that is shorter), which keeps a long-lived
store tidy. A rate function (the absence sweep, every minute in
AWS) runs every RATE_CAP seconds at most, so a crashed tab leaves the others' rosters
within STALE + RATE_CAP seconds here. Both are idempotent, so running them more often
changes nothing but timing. Nothing else can trigger them: there is no endpoint for it.
"""

import asyncio
import logging
import os
import time
import uuid

from chalice.app import Rate

from .logs import Stopwatch

log = logging.getLogger("cron")
CRON_INTERVAL = 60 * 60
CRON_MIN_INTERVAL = 10
CRON_FIRST_RUN = 60  # a minute after start: clears what a persistent store kept since last time
RATE_CAP = 15
_SECONDS = {Rate.MINUTES: 60, Rate.HOURS: 3600, Rate.DAYS: 86400}


def scheduled_event(name: str, region: str) -> dict:
    """The CloudWatch Events (EventBridge) event a scheduled Lambda receives."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "000000000000",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": region,
        "resources": [f"arn:aws:events:{region}:000000000000:rule/parley-local-{name}"],
        "detail": {},
    }


def cron_interval() -> float:
    """Hourly, or as often as the autoclear retention period when that is shorter (a
    stack run with `PARLEY_RETENTION_HOURS=0.05` purges meetings three minutes old),
    never more often than every CRON_MIN_INTERVAL seconds."""
    try:
        retention = float(os.environ.get("PARLEY_RETENTION_HOURS", "48")) * 3600
    except ValueError:
        retention = CRON_INTERVAL
    return max(CRON_MIN_INTERVAL, min(CRON_INTERVAL, retention))


def timing(entry) -> tuple[float, float]:
    """(first run after, then every) seconds for one scheduled entry (lambdas.Entry)."""
    expression = getattr(entry.config, "schedule_expression", None)
    if isinstance(expression, Rate):
        every = min(RATE_CAP, expression.value * _SECONDS[expression.unit])
        return every, every
    every = cron_interval()
    return min(CRON_FIRST_RUN, every), every


async def _repeat(entry, region: str, after_run, first: float, every: float) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(first)
    while True:
        clock = Stopwatch()
        try:
            result = await loop.run_in_executor(None, entry, scheduled_event(entry.name, region))
            log.log(logging.INFO if every >= CRON_INTERVAL else logging.DEBUG,
                    "%s -> %s in %.1f ms", entry.name, result, clock.ms)
        except Exception:
            log.exception("%s failed; next run in %d s", entry.name, every)
        finally:
            after_run()
        await asyncio.sleep(every)


async def run(entries: list, region: str, after_run) -> None:
    """Call each scheduled entry on its local timing until cancelled."""
    await asyncio.gather(*(_repeat(entry, region, after_run, *timing(entry))
                           for entry in entries))
