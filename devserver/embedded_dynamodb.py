"""moto's DynamoDB server in-process, with DynamoDB's atomicity.

moto applies each request without any lock, so two concurrent conditional writes (or
transactions) can both pass their conditions — real DynamoDB never allows that, and
Parley relies on it (last seat of a meeting, passcode attempt counter). Requests are
therefore applied one at a time, which is what a single-node DynamoDB looks like.

moto also keeps every stream shard iterator it ever handed out, and a stream poller asks
for a new one on every read; the oldest are dropped so a long `make run` does not grow
without bound (DynamoDB itself expires iterators after 15 minutes).

And moto undoes a cancelled transaction (a join refused because the meeting is full,
locked or ended) by swapping each table for a deep copy taken before it started. The
copy came with a copy of the table's stream: the stream poller, reading the old one,
never saw another record (no push at all after the first refused join), and the old one
still held the records of the cancelled writes (a push for a participant who never
joined). The stream is therefore shared by the copy, not copied (which also spares
copying the whole stream history on every transaction), and a rollback drops the records
of the cancelled writes, as DynamoDB, where a cancelled transaction writes nothing, would.
"""

import logging
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamShard
from moto.dynamodbstreams.models import dynamodbstreams_backends
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

MAX_SHARD_ITERATORS = 10_000


def _trim_shard_iterators(keep: int = MAX_SHARD_ITERATORS) -> None:
    for account in dict.values(dynamodbstreams_backends):
        for backend in dict.values(account):
            iterators = backend.shard_iterators
            while len(iterators) > keep:
                del iterators[next(iter(iterators))]


def _share_streams_through_rollbacks() -> None:
    """Patch moto (once per process) so a cancelled transaction leaves the stream as it was."""
    original = DynamoDBBackend.transact_write_items
    if getattr(original, "keeps_streams", False):
        return

    def transact_write_items(self, transact_items):
        before = {name: (table.stream_shard, len(table.stream_shard.items))
                  for name, table in self.tables.items() if table.stream_shard is not None}
        try:
            return original(self, transact_items)
        except Exception:
            for name, (shard, length) in before.items():
                del shard.items[length:]  # records of writes the rollback undid
                if name in self.tables:
                    shard.table = self.tables[name]  # the restored copy, which shares it
            raise

    transact_write_items.keeps_streams = True
    DynamoDBBackend.transact_write_items = transact_write_items
    StreamShard.__deepcopy__ = lambda self, memo: self


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
    """WSGI wrapper applying one request at a time (moto builds whole responses eagerly)."""

    def __init__(self, app):
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            response = list(self._app(environ, start_response))
            _trim_shard_iterators()
            return response


class EmbeddedDynamoDB(ThreadedMotoServer):
    """`EmbeddedDynamoDB(port=0).start()`; `.endpoint` is its http URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        super().__init__(ip_address=host, port=port, verbose=False)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        _share_streams_through_rollbacks()

    def _server_entry(self) -> None:
        app = _Serialized(_DynamoDBOnly())
        self._server = make_server(self._ip_address, self._port, app, True,
                                   request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def endpoint(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
