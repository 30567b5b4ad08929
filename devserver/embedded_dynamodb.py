"""moto's DynamoDB server in-process, with DynamoDB's atomicity.

moto applies each request without any lock, so two concurrent conditional writes (or
transactions) can both pass their conditions — real DynamoDB never allows that, and
Parley relies on it (last seat of a meeting, passcode attempt counter). Requests are
therefore applied one at a time, which is what a single-node DynamoDB looks like.

moto also keeps every stream shard iterator it ever handed out, and a stream poller asks
for a new one on every read; the oldest are dropped so a long `make run` does not grow
without bound (DynamoDB itself expires iterators after 15 minutes).
"""

import logging
import threading

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
