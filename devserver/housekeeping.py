"""What DynamoDB does by itself and moto never does, so a `make run` left up for weeks
levels off instead of growing with every meeting it ever held.

- Stream records are trimmed once every consumer in the process (the stream pollers) has
  delivered them and they are STREAM_RETENTION seconds old (DynamoDB keeps them 24 hours;
  another process reading the stream gets those seconds). moto kept every record, with
  both images, forever: at a few meetings a second that is megabytes a second.
- Items whose TTL attribute (`expires`) is in the past are deleted the way DynamoDB's TTL
  deletes them: a REMOVE record whose `userIdentity` names the DynamoDB service.
- A partition left without items (moto keeps an empty one for every meeting and every
  connection id ever written, or merely looked up) is forgotten.

Every step runs under the embedded server's lock, between requests, like any other write.
"""

import logging
import time
from datetime import UTC, datetime, timedelta

from moto.dynamodb.models.dynamo_type import DynamoType

log = logging.getLogger("devserver")
STREAM_RETENTION = 15.0   # seconds a delivered record stays readable by other processes
TTL_INTERVAL = 30.0       # seconds between TTL sweeps (DynamoDB takes minutes to days)
TRIM_INTERVAL = 10.0
TTL_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}  # Streams API form


def trim_stream(table, through: int, older_than: datetime) -> int:
    """Drop the table's stream records numbered up to `through` and created before
    `older_than`; sequence numbers go on unchanged. Returns how many were dropped."""
    shard = table.stream_shard
    if shard is None:
        return 0
    count = 0
    limit = through - shard.starting_sequence_number + 1
    for record in shard.items[:max(0, limit)]:
        if record.record["dynamodb"]["ApproximateCreationDateTime"] >= older_than:
            break
        count += 1
    if count:
        del shard.items[:count]
        shard.starting_sequence_number += count
    return count


def stream_arn(table) -> str:
    return f"{table.table_arn}/stream/{table.latest_stream_label}"


def _partitions(table):
    if table.has_range_key:
        for hash_key, partition in list(table.items.items()):
            for range_key, item in list(partition.items()):
                yield hash_key, range_key, item
    else:
        for hash_key, item in list(table.items.items()):
            yield hash_key, None, item


def _expired(item, attribute: str, now: float) -> bool:
    value = item.attrs.get(attribute)
    if not isinstance(value, DynamoType) or value.type != "N":
        return False  # DynamoDB ignores a TTL attribute that is not a number
    try:
        return float(value.value) < now
    except ValueError:
        return False


def expire(table, now: float) -> int:
    """Delete the items whose TTL attribute is before `now` (epoch seconds)."""
    ttl = table.ttl or {}
    attribute = ttl.get("AttributeName")
    if ttl.get("TimeToLiveStatus") != "ENABLED" or not attribute:
        return 0
    count = 0
    for hash_key, range_key, item in _partitions(table):
        if _expired(item, attribute, now):
            table.delete_item(hash_key, range_key)
            if table.stream_shard is not None and table.stream_shard.items:
                table.stream_shard.items[-1].record["userIdentity"] = dict(TTL_IDENTITY)
            count += 1
    return count


def drop_empty_partitions(table) -> int:
    if not table.has_range_key:
        return 0
    empty = [key for key, partition in table.items.items() if not partition]
    for key in empty:
        del table.items[key]
    return len(empty)


class Housekeeping:
    """`run_once()` trims, expires and tidies every table of an EmbeddedDynamoDB.

    `positions()` returns, per (stream ARN, shard id), the last sequence number every
    in-process consumer has delivered; a shard missing from it is not trimmed.
    """

    def __init__(self, db, positions):
        self._db = db
        self._positions = positions
        self._next_ttl = 0.0

    def run_once(self, now: float | None = None) -> dict:
        now = time.time() if now is None else now
        counts = {"trimmed": 0, "expired": 0, "partitions": 0}
        positions = self._positions()
        older_than = datetime.fromtimestamp(now, UTC).replace(tzinfo=None) \
            - timedelta(seconds=STREAM_RETENTION)
        with self._db.exclusive():
            for table in self._db.tables():
                shard = table.stream_shard
                through = None if shard is None else positions.get((stream_arn(table), shard.id))
                if through is not None:
                    counts["trimmed"] += trim_stream(table, through, older_than)
                if now >= self._next_ttl:
                    expired = expire(table, now)
                    counts["expired"] += expired
                    self._db.count_writes(expired)
                counts["partitions"] += drop_empty_partitions(table)
        if now >= self._next_ttl:
            self._next_ttl = now + TTL_INTERVAL
        if counts["expired"]:
            log.info("TTL: %d expired item(s) deleted", counts["expired"])
        return counts
