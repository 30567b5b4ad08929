"""The daily purge: every item (polls and votes included) of meetings older than the
retention period (counted from the scheduled start for a meeting created ahead of its
time).

A meeting is first marked ended (so a racing join is refused and nobody sees it as
open while it is half deleted), then its partition is deleted with META last, so a
crashed run leaves a meeting that the next run still finds. Running it twice is harmless.
"""

import logging
from datetime import timedelta

from . import roster
from .config import Settings
from .models import META_SK, Connection, Item, Meeting, now

log = logging.getLogger("parley")
SWEEPS = 3


def _delete_partition(meeting: Meeting) -> int:
    """Delete everything but META, sweeping again for writes that raced the first pass
    (a ticket accepted just before the meeting was marked ended), then META itself."""
    deleted = 0
    for _ in range(SWEEPS):
        items = [i for i in Item.query(meeting.pk, consistent_read=True) if i.sk != META_SK]
        if not items:
            break
        with Item.batch_write() as batch:
            for item in items:
                batch.delete(item)
        deleted += len(items)
    meeting.delete()
    return deleted + 1


def purge(s: Settings) -> dict:
    cutoff = now() - timedelta(hours=s.retention_hours)
    counts = {"meetings": 0, "items": 0, "connections": 0}
    old = (Meeting.created_at < cutoff) & (
        Meeting.starts_at.does_not_exist() | (Meeting.starts_at < cutoff))
    for meeting in Meeting.scan(old):
        roster.end(meeting)
        counts["items"] += _delete_partition(meeting)
        counts["meetings"] += 1
    with Item.batch_write() as batch:
        for conn in Connection.scan(Connection.created_at < cutoff):
            batch.delete(conn)
            counts["connections"] += 1
    log.info("autoclear: purged %(meetings)d meetings, %(items)d items, "
             "%(connections)d stale connections", counts)
    return counts
