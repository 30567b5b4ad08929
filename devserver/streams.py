"""The table's DynamoDB stream -> the app's stream handler, as a Lambda event source mapping.

Like Lambda it reads every shard (open shards from the latest position at start, shards
that appear later from their beginning, a child only after its parent is drained), calls
the handler with `{"Records": [...]}` batches in order per shard, retries a failing batch
a bounded number of times and then skips it with a log line, and keeps going through
DynamoDB errors. Unlike Lambda it can be woken at once: the stack wakes it after every
REST request and WebSocket event, so a push follows its write with no polling delay. It
polls every 50 ms for a few seconds after any activity (a store other than moto may show
a record a little after the write) and every 0.5 s when all is quiet, which still picks
up writes made by other processes.
"""

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass

from botocore.exceptions import ClientError

from .logs import Stopwatch
from .stream_records import lambda_record

log = logging.getLogger("stream")
POLL_INTERVAL = 0.05
ACTIVE_WINDOW = 5.0   # poll every POLL_INTERVAL for this long after the last activity ...
IDLE_INTERVAL = 0.5   # ... then slower: each empty read costs the embedded DynamoDB CPU
DISCOVER_INTERVAL = 10.0  # new shards appear every few hours in DynamoDB; none in moto
MAX_RETRIES = 3
MAX_BACKOFF = 5.0
ERROR_LOG_INTERVAL = 60.0


class Waker:
    """`waker()` wakes every poller at once (each has its own event to clear)."""

    def __init__(self):
        self._events: list[threading.Event] = []

    def event(self) -> threading.Event:
        event = threading.Event()
        self._events.append(event)
        return event

    def __call__(self) -> None:
        for event in self._events:
            event.set()


@dataclass
class Shard:
    id: str
    parent: str | None
    start: str  # LATEST or TRIM_HORIZON, used until a record has been read
    iterator: str | None = None
    last_sequence: str | None = None
    done: bool = False


class StreamPoller:
    def __init__(self, entry, client, stream_arn, region: str, wake: threading.Event,
                 resolve_arn=None):
        """`entry`: the app's stream handler (lambdas.Entry); `client`: boto3 dynamodbstreams;
        `resolve_arn()`: the table's current stream ARN, asked again if the stream vanishes."""
        self._entry = entry
        self._client = client
        self._arn = stream_arn
        self._region = region
        self._wake = wake
        self._resolve_arn = resolve_arn
        self._batch_size = getattr(entry.config, "batch_size", None) or 100
        self._starting_position = getattr(entry.config, "starting_position", None) or "LATEST"
        self._shards: dict[str, Shard] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-{entry.name}", daemon=True)
        self._next_discovery = 0.0
        self._failing_since: float | None = None
        self._last_error_log = 0.0

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Position on the stream now (so nothing written after start is missed), then poll."""
        self._discover(initial=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def positions(self) -> dict[tuple[str, str], int]:
        """Per (stream ARN, shard id), the sequence number of the last record delivered
        (or skipped)."""
        return {(self._arn, s.id): int(s.last_sequence) for s in list(self._shards.values())
                if s.last_sequence}

    @property
    def status(self) -> dict:
        return {"shards": sum(not s.done for s in self._shards.values()),
                "healthy": self._failing_since is None}

    # --- polling loop ------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.0
        last_activity = time.monotonic()
        while not self._stop.is_set():
            if self._wake.is_set():
                last_activity = time.monotonic()
            self._wake.clear()
            try:
                if time.monotonic() >= self._next_discovery:
                    self._discover()
                busy = self._poll_once()
            except Exception as err:
                backoff = min(MAX_BACKOFF, backoff * 2 or 0.2)
                self._on_error(err)
                self._stop.wait(backoff)
                continue
            if self._failing_since is not None:
                log.info("reading the stream again after %.0f s of errors",
                         time.monotonic() - self._failing_since)
                self._failing_since, self._last_error_log = None, 0.0
            backoff = 0.0
            now = time.monotonic()
            if busy:
                last_activity = now
            else:
                quiet = now - last_activity > ACTIVE_WINDOW
                self._wake.wait(IDLE_INTERVAL if quiet else POLL_INTERVAL)

    def _on_error(self, err: Exception) -> None:
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        if now - self._last_error_log >= ERROR_LOG_INTERVAL:
            self._last_error_log = now
            log.warning("cannot read the stream (%s: %s); retrying", type(err).__name__, err)
        if _code(err) == "ResourceNotFoundException" and self._resolve_arn:
            try:
                arn = self._resolve_arn()
            except Exception:  # no table (yet): keep retrying the old stream
                return
            if arn and arn != self._arn:
                log.warning("the table has a new stream %s; following it", arn)
                self._arn, self._shards = arn, {}
                self._next_discovery = 0.0

    def _discover(self, initial: bool = False) -> None:
        """Add shards not seen before; forget drained ones DynamoDB no longer lists."""
        listed, start_after = [], None
        while True:
            kwargs = {"StreamArn": self._arn}
            if start_after:
                kwargs["ExclusiveStartShardId"] = start_after
            desc = self._client.describe_stream(**kwargs)["StreamDescription"]
            listed.extend(desc.get("Shards", []))
            start_after = desc.get("LastEvaluatedShardId")
            if not start_after:
                break
        for shard in listed:
            if shard["ShardId"] in self._shards:
                continue
            closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
            if initial:
                start = self._starting_position
                done = closed and start == "LATEST"  # history from before the start
            else:
                start, done = "TRIM_HORIZON", False
            self._shards[shard["ShardId"]] = Shard(shard["ShardId"], shard.get("ParentShardId"),
                                                   start, done=done)
        ids = {s["ShardId"] for s in listed}
        for sid in [sid for sid, s in self._shards.items() if s.done and sid not in ids]:
            del self._shards[sid]
        self._next_discovery = time.monotonic() + DISCOVER_INTERVAL

    def _ready(self, shard: Shard) -> bool:
        parent = self._shards.get(shard.parent) if shard.parent else None
        return not shard.done and (parent is None or parent.done)

    def _poll_once(self) -> bool:
        busy = False
        for shard in list(self._shards.values()):
            if self._ready(shard) and not self._stop.is_set():
                busy = self._read(shard) or busy
        return busy

    def _read(self, shard: Shard) -> bool:
        if shard.iterator is None:
            kwargs = {"StreamArn": self._arn, "ShardId": shard.id}
            if shard.last_sequence:
                kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                              SequenceNumber=shard.last_sequence)
            else:
                kwargs["ShardIteratorType"] = shard.start
            shard.iterator = self._client.get_shard_iterator(**kwargs)["ShardIterator"]
        try:
            resp = self._client.get_records(ShardIterator=shard.iterator, Limit=self._batch_size)
        except ClientError as err:  # expired, trimmed or unknown iterator: take a new one
            shard.iterator = None
            if _code(err) == "TrimmedDataAccessException":
                shard.last_sequence, shard.start = None, "TRIM_HORIZON"
            raise
        records = resp.get("Records", [])
        shard.iterator = resp.get("NextShardIterator")
        if records:
            self._deliver(records)
            shard.last_sequence = records[-1]["dynamodb"]["SequenceNumber"]
        if shard.iterator is None:
            shard.done = True  # a closed shard, fully read: its children may start
        return bool(records)

    def _deliver(self, records: list) -> None:
        event = {"Records": [lambda_record(r, self._arn, self._region) for r in records]}
        summary = _summary(event["Records"])
        for attempt in range(1 + MAX_RETRIES):
            clock = Stopwatch()
            try:
                self._entry(event)
            except Exception:
                if attempt == MAX_RETRIES or self._stop.is_set():
                    log.exception("skipping a batch of %d records (%s, sequence %s..%s) after "
                                  "%d failed attempts", len(records), summary,
                                  records[0]["dynamodb"]["SequenceNumber"],
                                  records[-1]["dynamodb"]["SequenceNumber"], attempt + 1)
                    return
                log.warning("batch of %d records failed (attempt %d of %d); retrying",
                            len(records), attempt + 1, 1 + MAX_RETRIES, exc_info=True)
                self._stop.wait(0.1 * 2 ** attempt)
                continue
            log.info("%d records (%s) -> %s in %.1f ms", len(records), summary,
                     self._entry.name, clock.ms)
            return


def _code(err: Exception) -> str | None:
    return err.response.get("Error", {}).get("Code") if isinstance(err, ClientError) else None


def _summary(records: list) -> str:
    """`INSERT Ticket x2, MODIFY Participant` from the items' `type` attribute, if any."""
    counts = Counter()
    for record in records:
        image = record["dynamodb"].get("NewImage") or record["dynamodb"].get("OldImage") or {}
        kind = image.get("type", {}).get("S")
        counts[f"{record['eventName']} {kind}" if kind else record["eventName"]] += 1
    return ", ".join(f"{key} x{n}" if n > 1 else key for key, n in counts.items())
