"""moto's DynamoDB server in-process, with DynamoDB's atomicity.

moto applies each request without any lock, so two concurrent conditional writes (or
transactions) can both pass their conditions — real DynamoDB never allows that, and
Parley relies on it (last seat of a meeting, passcode attempt counter). Requests are
therefore applied one at a time, which is what a single-node DynamoDB looks like.

moto also keeps every stream shard iterator it ever handed out, and a stream poller asks
for a new one on every read; the oldest are dropped so a long `make run` does not grow
without bound (DynamoDB itself expires iterators after 15 minutes).

And moto undoes a cancelled transaction (a join refused because the meeting is full,
locked or ended) by swapping each table for a deep copy of the whole table taken before
every transaction. That copy cost grew with the table (200 joins took 42 s, and a
thousand-participant run used gigabytes), and the copy came with a copy of the table's
stream: the poller, reading the old one, never saw another record, and the old one still
held the records of the cancelled writes. Here a transaction instead saves only the
items it names; a cancelled one puts those back and drops the stream records its writes
left, as DynamoDB, where a cancelled transaction writes nothing, would.

Half of moto's time went into its generic response serializer walking every item
attribute by attribute against the service model; an item is already in DynamoDB's wire
format, so a map of attribute values of the plain kinds is passed through as it is
(`_plain_attribute`; binary values still take moto's path, which base64-encodes them).

Clients in this same process (the app, the stream poller) reach the server without a
socket or an HTTP request: `direct_calls` answers each botocore call for the endpoint
with moto's handler in the calling thread. Over loopback HTTP every call paid a new TCP
connection (werkzeug's server closes each one), a thread per request and a GIL hand-off
each way: ~8 ms for a GetItem. Other processes (tests, the AWS CLI) use the HTTP
endpoint as before; both paths share one lock and one set of tables.

moto keeps every model object it ever made (each item and stream record) in a class
list for its dashboard; here those lists keep nothing (`_stop_tracking_instances`).

moto answers a Query by listing and sorting the whole table; here it reads the one
partition asked for (`_query_one_partition`), so a Query costs the same in a store that
has held thousands of meetings as in an empty one.

Every one of these overrides reaches into moto's internals, so the server refuses to start
on any moto but the one they were written for (MOTO_VERSION, pinned in requirements-local.txt).
"""

import copy
import functools
import importlib.metadata
import logging
import threading
from urllib.parse import urlsplit

from moto.core.exceptions import JsonRESTError
from moto.core.model_instances import model_data
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodbstreams.models import dynamodbstreams_backends
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from . import direct_calls, moto_fast_paths

MAX_SHARD_ITERATORS = 10_000
# The moto whose internals the overrides below were written against.
MOTO_VERSION = "5.2.5"
# Requests that can change items: the ones a snapshot of the table has to follow.
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
                              "TransactWriteItems"})


class UnsupportedMoto(RuntimeError):
    """The installed moto is not the one the overrides were written for."""


def check_moto_version() -> None:
    installed = importlib.metadata.version("moto")
    if installed != MOTO_VERSION:
        raise UnsupportedMoto(
            f"moto {installed} is installed, but the embedded DynamoDB overrides moto internals "
            f"written for moto {MOTO_VERSION}. Install the pinned version "
            f"(.venv/bin/pip install -r requirements-local.txt), or, to move to moto {installed}, "
            "check devserver/embedded_dynamodb.py against it and update MOTO_VERSION and the pin "
            "in requirements-local.txt together.")


def _trim_shard_iterators(keep: int = MAX_SHARD_ITERATORS) -> None:
    """Keep the newest `keep`, dropping the rest in one go once a tenth more piled up:
    deleting from the front of a dict one at a time leaves holes that every later
    `next(iter(...))` walks over again."""
    for account in dict.values(dynamodbstreams_backends):
        for backend in dict.values(account):
            iterators = backend.shard_iterators
            if len(iterators) > keep + keep // 10:
                backend.shard_iterators = dict(list(iterators.items())[-keep:])


class TrimmedDataAccess(JsonRESTError):
    def __init__(self):
        super().__init__("TrimmedDataAccessException",
                         "The operation attempted to read past the oldest stream record "
                         "in a shard.")


def _refuse_trimmed_positions() -> None:
    """Patch moto (once per process): an iterator positioned before the oldest record
    kept (housekeeping trims records) gets DynamoDB's TrimmedDataAccessException, where
    moto would fail an assertion."""
    original = StreamShard.get
    if getattr(original, "refuses_trimmed", False):
        return

    def get(self, start, quantity):
        if start < self.starting_sequence_number:
            raise TrimmedDataAccess()
        return original(self, start, quantity)

    get.refuses_trimmed = True
    StreamShard.get = get


def _saved_items(backend, transact_items) -> list:
    """(table, hash, range, copy of the item or None) for each item a transaction names.

    An entry whose table or key cannot be read is skipped: moto reads them the same way,
    so it cannot write that entry either (it answers it with a validation error).
    """
    saved = []
    for entry in transact_items:
        try:
            op = next(iter(entry.values()))
            table = backend.tables[op["TableName"]]
            key = op.get("Key") or op["Item"]
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.has_range_key else None
        except (KeyError, TypeError, AttributeError, StopIteration):
            continue
        saved.append((table, hash_key, range_key,
                      copy.deepcopy(table.get_item(hash_key, range_key))))
    return saved


def _put_back(saved: list) -> None:
    for table, hash_key, range_key, item in reversed(saved):
        if table.has_range_key:
            if item is None:
                table.items[hash_key].pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        elif item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item


_TABLE_COPY = threading.local()


def _table_deepcopy(self, memo):
    """Within a transaction, moto's whole-table backup is skipped (see _saved_items)."""
    if getattr(_TABLE_COPY, "skip", False):
        return self
    return _ORIGINAL_TABLE_DEEPCOPY(self, memo)


def _plain_deepcopy(self, memo):
    clone = object.__new__(type(self))
    memo[id(self)] = clone
    for name, value in self.__dict__.items():
        setattr(clone, name, copy.deepcopy(value, memo))
    return clone


_ORIGINAL_TABLE_DEEPCOPY = getattr(Table, "__deepcopy__", _plain_deepcopy)


def _cheap_transaction_rollbacks() -> None:
    """Patch moto (once per process): a transaction saves and restores only its own items."""
    original = DynamoDBBackend.transact_write_items
    if getattr(original, "saves_items", False):
        return

    def transact_write_items(self, transact_items):
        saved = _saved_items(self, transact_items)
        shards = [(table.stream_shard, len(table.stream_shard.items))
                  for table in self.tables.values() if table.stream_shard is not None]
        _TABLE_COPY.skip = True
        try:
            return original(self, transact_items)
        except Exception:
            _put_back(saved)
            for shard, length in shards:
                del shard.items[length:]  # records of writes the rollback undid
            raise
        finally:
            _TABLE_COPY.skip = False

    transact_write_items.saves_items = True
    DynamoDBBackend.transact_write_items = transact_write_items
    Table.__deepcopy__ = _table_deepcopy


_PLAIN_SCALARS = frozenset({"S", "N", "BOOL", "NULL", "SS", "NS"})


def _plain_attribute(value) -> bool:
    """An attribute value in wire form with nothing for the serializer to convert."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind in _PLAIN_SCALARS:
        return True
    if kind == "M":
        return isinstance(inner, dict) and all(map(_plain_attribute, inner.values()))
    if kind == "L":
        return isinstance(inner, list) and all(map(_plain_attribute, inner))
    return False


def _pass_items_through() -> None:
    """Patch moto's JSON serializer (once per process): plain item maps are copied as is."""
    original = BaseJSONSerializer._serialize_type_map
    if getattr(original, "passes_items", False):
        return

    def _serialize_type_map(self, serialized, value, shape, key):
        if (getattr(shape.value, "name", None) == "AttributeValue" and isinstance(value, dict)
                and all(map(_plain_attribute, value.values()))):
            self._default_serialize(serialized, dict(value), shape, key)
            return
        original(self, serialized, value, shape, key)

    _serialize_type_map.passes_items = True
    BaseJSONSerializer._serialize_type_map = _serialize_type_map


class _Untracked(list):
    """A list that keeps nothing appended to it."""

    def append(self, _item) -> None:
        pass


def _stop_tracking_instances() -> None:
    """Patch moto (once per process): its DynamoDB models stop keeping every instance.

    moto appends every object of a model class (each item, each copy of one, each stream
    record, each shard iterator) to a class-level list, for its dashboard and its reset,
    and never lets go: that alone was ~2 MB per meeting, most of what a long `make run`
    gained. Neither is used here; the tables hold what is alive.
    """
    for service in ("dynamodb", "dynamodbstreams"):
        for model in model_data.get(service, {}).values():
            if not isinstance(model.instances_tracked, _Untracked):
                model.instances_tracked = _Untracked()


_ONE_PARTITION = threading.local()


def _query_one_partition() -> None:
    """Patch moto (once per process): a Query on the table reads its own partition.

    moto lists and sorts every item of the table for each Query and then keeps those of
    the partition asked for, so every roster read, replay and purge got slower with each
    meeting the store had ever held (the soak's time per meeting doubled within a few
    hundred meetings). While a Query on the table itself (not an index) runs, the table's
    `all_items` answers with that partition only; what moto does with it is unchanged.
    """
    original_query, original_all = Table.query, Table.all_items
    if getattr(original_query, "one_partition", False):
        return

    def query(self, hash_key, *args, **kwargs):
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or not self.has_range_key:
            return original_query(self, hash_key, *args, **kwargs)
        _ONE_PARTITION.key = hash_key
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _ONE_PARTITION.key = None

    def all_items(self):
        key = getattr(_ONE_PARTITION, "key", None)
        if key is None:
            return original_all(self)
        partition = self.items.get(key) or {}
        return sorted(partition.values(), key=lambda item: item.range_key)

    query.one_partition = True
    Table.query, Table.all_items = query, all_items


UPDATE_EXPRESSIONS_CACHED = 512


def _cache_update_expressions() -> None:
    """Patch moto (once per process): an update expression is parsed once, not twice per
    UpdateItem. The app sends a handful of distinct expressions; the parse tree is only
    read (moto's validator works on a deep copy of it), so one tree serves every call."""
    make = UpdateExpressionParser.__dict__["make"].__func__
    if getattr(make, "cached", False):
        return
    cached = functools.lru_cache(maxsize=UPDATE_EXPRESSIONS_CACHED)(make)

    def make_once(cls, expression_str):
        return cached(cls, expression_str)

    make_once.cached = True
    UpdateExpressionParser.make = classmethod(make_once)


class _DynamoDBOnly:
    """DynamoDB and DynamoDB Streams only, routed by the X-Amz-Target header.

    moto's general dispatcher works out the service of every request anew, listing its
    own package directory each time; that made a GetItem cost ~4.5 ms instead of ~0.9 ms.
    """

    def __init__(self):
        self._dynamodb = create_backend_app("dynamodb")
        self._streams = create_backend_app("dynamodbstreams")

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        app = self._streams if target.startswith("DynamoDBStreams") else self._dynamodb
        return app(environ, start_response)


class _Serialized:
    """WSGI wrapper applying one request at a time (moto builds whole responses eagerly).

    It counts the write requests it applies (`writes`), so a snapshot can tell whether the
    table may have changed. The lock is reentrant: a thread that holds it (`lock`) can still
    make in-process requests, which run in that same thread, while every other waits.
    """

    def __init__(self, app):
        self._app = app
        self.lock = threading.RLock()
        self.writes = 0

    def __call__(self, environ, start_response):
        with self.lock:
            response = list(self._app(environ, start_response))
            self._applied(environ.get("HTTP_X_AMZ_TARGET", ""))
            return response

    def apply(self, service: str, target: str, body: str, region: str, access_key: str):
        """One request from this process (direct_calls), under the same lock."""
        with self.lock:
            response = direct_calls.answer(service, target, body, region, access_key)
            self._applied(target)
            return response

    def _applied(self, target: str) -> None:
        _trim_shard_iterators()
        if target.rpartition(".")[2] in WRITE_OPERATIONS:
            self.writes += 1


class EmbeddedDynamoDB(ThreadedMotoServer):
    """`EmbeddedDynamoDB(port=0).start()`; `.endpoint` is its http URL.

    Raises UnsupportedMoto when the installed moto is not MOTO_VERSION.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        check_moto_version()
        super().__init__(ip_address=host, port=port, verbose=False)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        _cheap_transaction_rollbacks()
        _pass_items_through()
        _cache_update_expressions()
        _refuse_trimmed_positions()
        _query_one_partition()
        _stop_tracking_instances()
        moto_fast_paths.install()
        self._app = _Serialized(_DynamoDBOnly())

    def _server_entry(self) -> None:
        self._server = make_server(self._ip_address, self._port, self._app, True,
                                   request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        super().start()
        direct_calls.direct_calls().endpoints[urlsplit(self.endpoint).netloc] = self._app.apply

    def stop(self) -> None:
        direct_calls.direct_calls().endpoints.pop(urlsplit(self.endpoint).netloc, None)
        super().stop()

    @property
    def endpoint(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def writes(self) -> int:
        """How many write requests (WRITE_OPERATIONS) it has applied, successful or not."""
        return self._app.writes

    def count_writes(self, count: int) -> None:
        """Writes made on the tables directly (housekeeping), so a snapshot follows them."""
        self._app.writes += count

    def tables(self) -> list:
        """moto's tables, every account and region (call within `exclusive()`)."""
        return [table for account in dict.values(dynamodb_backends)
                for backend in dict.values(account) for table in backend.tables.values()]

    def exclusive(self):
        """`with db.exclusive():` no request from another thread is applied meanwhile;
        requests from this thread are (a consistent multi-page Scan, for instance)."""
        return self._app.lock
