"""The embedded DynamoDB's items kept in a file of the data directory, so that a restart of
the local stack loses nothing.

Only through the DynamoDB API. A snapshot is a Scan of the table (consistent reads, every
page read while the embedded server applies no other request, so it is one point in time),
written as JSON in DynamoDB's wire format (binary values base64-encoded, as on the wire), one
item a line, to `dynamodb-<table>.json`: first to a temporary file, which is then renamed
over the old one, so a crash mid-write leaves the previous snapshot; readable by the owner
only. It is taken when the table may have changed since the last one (the server counts
the write requests it applied), checked every INTERVAL seconds, and once more when the
stack stops, after every socket has had its `$disconnect`. A killed stack loses at most
the writes of its last INTERVAL.

At start the snapshot is read before anything else is started (a file that cannot be read
stops the stack with a message naming it: nothing is discarded silently) and its items
are written back with BatchWriteItem right after the table is created, before the stream
poller takes its position, so restored items push nothing.
"""

import asyncio
import base64
import binascii
import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.config import Config

log = logging.getLogger("devserver")

FORMAT = "parley-dynamodb-snapshot"
VERSION = 1
INTERVAL = 2.0
BATCH = 25  # BatchWriteItem's limit
BATCH_ATTEMPTS = 8  # UnprocessedItems are sent again, with backoff, this many times


class SnapshotError(Exception):
    """A snapshot that cannot be read or restored; the message says what to do."""


def file_for(data_dir: Path, table: str) -> Path:
    return data_dir / f"dynamodb-{table}.json"


def _start_fresh(path: Path) -> str:
    return (f"To start with an empty store instead, move it away (mv {path} {path}.broken; "
            "the meetings in it are then gone), or run with PARLEY_EPHEMERAL=1 to keep nothing.")


# --- attribute values: the client's form (bytes for binary) <-> the wire's (base64 text) --

def _to_wire(value: dict) -> dict:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in inner]}
    if kind == "M":
        return {"M": {name: _to_wire(v) for name, v in inner.items()}}
    if kind == "L":
        return {"L": [_to_wire(v) for v in inner]}
    return value


_TEXT = {"S": str, "N": str, "BOOL": bool, "NULL": bool}


def _from_wire(value) -> dict:
    """The client's form of one attribute value; ValueError when it is not one."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"not an attribute value: {json.dumps(value)[:80]}")
    ((kind, inner),) = value.items()
    if kind in _TEXT and isinstance(inner, _TEXT[kind]):
        return value
    if kind in ("SS", "NS") and isinstance(inner, list) and all(isinstance(x, str) for x in inner):
        return value
    if kind == "B" and isinstance(inner, str):
        return {"B": base64.b64decode(inner, validate=True)}
    if kind == "BS" and isinstance(inner, list):
        return {"BS": [base64.b64decode(x, validate=True) for x in inner]}
    if kind == "M" and isinstance(inner, dict):
        return {"M": {name: _from_wire(v) for name, v in inner.items()}}
    if kind == "L" and isinstance(inner, list):
        return {"L": [_from_wire(v) for v in inner]}
    raise ValueError(f"not an attribute value: {json.dumps(value)[:80]}")


def _item_from_wire(item) -> dict:
    if not isinstance(item, dict) or not all(isinstance(item.get(k), dict) and "S" in item[k]
                                             for k in ("pk", "sk")):
        raise ValueError(f"not an item with a pk and an sk: {json.dumps(item)[:80]}")
    return {name: _from_wire(value) for name, value in item.items()}


# --- the file -------------------------------------------------------------------------------

def read(path: Path) -> tuple[list[dict], bool] | None:
    """The items of the snapshot at `path` (the client's form) and whether it was taken when
    the stack stopped cleanly; None when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise SnapshotError(f"cannot read the snapshot {path}: {err}. {_start_fresh(path)}") from err
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        if doc.get("version") != VERSION:
            raise ValueError(f"version {doc.get('version')!r}, this stack reads version {VERSION}")
        if not isinstance(doc.get("items"), list):
            raise ValueError("no list of items")
        return [_item_from_wire(item) for item in doc["items"]], doc.get("cleanStop") is True
    except (ValueError, binascii.Error) as err:  # json.JSONDecodeError is a ValueError
        raise SnapshotError(f"the snapshot {path} is damaged ({err}). {_start_fresh(path)}") from err


def write(path: Path, table: str, items: list[dict], clean_stop: bool = False) -> None:
    """Replace the snapshot at `path` atomically (temporary file, fsync, rename), mode 0600.
    `clean_stop`: the last snapshot of a stack that stopped cleanly (nothing after it)."""
    head = {"format": FORMAT, "version": VERSION, "table": table,
            "savedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "cleanStop": clean_stop}
    lines = [json.dumps(_to_wire_item(item), separators=(",", ":"), ensure_ascii=False)
             for item in items]
    text = (json.dumps(head)[:-1] + ', "items": [\n' + ",\n".join(lines) + "\n]}\n")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)  # a leftover would keep its own mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


def _to_wire_item(item: dict) -> dict:
    return {name: _to_wire(value) for name, value in item.items()}


# --- the table, through the DynamoDB API ----------------------------------------------------

def scan(client, table: str) -> list[dict]:
    """Every item of `table`, page after page, with consistent reads."""
    items, start = [], None
    while True:
        page = client.scan(TableName=table, ConsistentRead=True,
                           **({"ExclusiveStartKey": start} if start else {}))
        items.extend(page.get("Items", []))
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def restore(client, table: str, items: list[dict]) -> int:
    """Write `items` into `table` with BatchWriteItem, BATCH at a time, sending the
    UnprocessedItems of each call again; returns how many were written."""
    for first in range(0, len(items), BATCH):
        requests = {table: [{"PutRequest": {"Item": item}} for item in items[first:first + BATCH]]}
        for attempt in range(BATCH_ATTEMPTS):
            requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
            if not requests:
                break
            time.sleep(min(1.0, 0.05 * 2 ** attempt))
        else:
            left = sum(len(r) for r in requests.values())
            raise SnapshotError(f"{left} items were still unprocessed after {BATCH_ATTEMPTS} "
                                "BatchWriteItem attempts")
    return len(items)


class Snapshots:
    """Table `table` of the embedded DynamoDB `db`, kept in the file `path`.

    `load()` reads the file (SnapshotError when it cannot), `restore()` writes its items
    into the new table; only then does `save()` ever write the file, so a start that fails
    before the restore cannot replace a snapshot with an empty table.
    """

    def __init__(self, path: Path, db, table: str, region: str):
        self.path = path
        self._db = db
        self._table = table
        self._region = region
        self._loaded: list[dict] | None = None
        self._client = None
        self._lock = threading.Lock()  # one save at a time (the timer's and the last one)
        self._saved_writes: int | None = None  # the db's write count the file reflects
        self._saved_at: float | None = None
        self._saved_items = 0
        self._last_error_log = 0.0

    @property
    def client(self):
        if self._client is None:
            # A session of its own, made after the server started, so it has the server's
            # in-process before-send hook: a Scan taken while holding the server's lock
            # (`exclusive`) must not wait on that lock in the server's HTTP thread.
            self._client = boto3.session.Session().client(
                "dynamodb", endpoint_url=self._db.endpoint, region_name=self._region,
                aws_access_key_id="local", aws_secret_access_key="local",  # noqa: S106 (a dummy)
                config=Config(retries={"max_attempts": 3, "mode": "standard"}))
        return self._client

    def load(self) -> int | None:
        """Read the snapshot now; how many items it holds, None when there is none yet."""
        found = read(self.path)
        self._loaded, clean = found or (None, True)
        # a stack that was killed lost the writes after its last snapshot
        self.lost_last_writes = not clean
        return None if self._loaded is None else len(self._loaded)

    def restore(self) -> int:
        items = self._loaded or []
        started = time.monotonic()
        try:
            restore(self.client, self._table, items)
        except SnapshotError as err:
            raise SnapshotError(f"cannot restore {self.path}: {err}") from err
        self._loaded = None
        self._saved_writes = self._db.writes  # the file holds exactly what the table does
        if items:
            self._saved_at = self.path.stat().st_mtime
            self._saved_items = len(items)
            log.info("restored %d items from %s in %.0f ms", len(items), self.path,
                     (time.monotonic() - started) * 1000)
        return len(items)

    @property
    def pending(self) -> bool:
        """Writes applied since the last snapshot (the next check will take one)."""
        return self._saved_writes is not None and self._db.writes != self._saved_writes

    def save(self, final: bool = False) -> bool:
        """Take a snapshot if the table may have changed since the last; True if one was.
        `final`: the stack is stopping cleanly; the snapshot says so, changed or not."""
        with self._lock:
            if self._saved_writes is None:
                return False
            started = time.monotonic()
            with self._db.exclusive():  # one point in time, however many pages
                writes = self._db.writes
                if writes == self._saved_writes and not final:
                    return False
                items = scan(self.client, self._table)
            write(self.path, self._table, items, clean_stop=final)
            self._saved_writes, self._saved_at, self._saved_items = writes, time.time(), len(items)
            log.debug("snapshot: %d items to %s in %.1f ms", len(items), self.path,
                      (time.monotonic() - started) * 1000)
            return True

    def save_logged(self) -> None:
        """save(), with a failure logged (at most once a minute while it lasts), not raised."""
        try:
            self.save()
        except Exception:
            if time.monotonic() - self._last_error_log >= 60:
                self._last_error_log = time.monotonic()
                log.exception("cannot write the snapshot %s; the next check tries again", self.path)

    async def run(self, interval: float = INTERVAL) -> None:
        """Check every `interval` seconds until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            await loop.run_in_executor(None, self.save_logged)

    @property
    def status(self) -> dict:
        """For /health: the file, when it was last written, how many items, unsaved writes."""
        saved = self._saved_at
        return {"file": str(self.path), "items": self._saved_items, "pending": self.pending,
                "savedAt": None if saved is None else
                datetime.fromtimestamp(saved, UTC).isoformat(timespec="milliseconds")}
