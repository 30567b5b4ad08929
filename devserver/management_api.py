"""The API Gateway management API (`@connections`) for the local WebSocket endpoint.

The app pushes with `app.websocket_api.send`, i.e. boto3's `apigatewaymanagementapi`
client. `LocalManagementSession` is what the stack assigns to `app.websocket_api.session`:
Chalice asks it for a client for `https://{api id}.execute-api.{region}.amazonaws.com/{stage}`
and gets a real boto3 client aimed at `http://<this server>/ws` instead, so the app runs
the same boto3 code path, errors included, as in AWS. A closed or unknown connection
answers 410 GoneException exactly as botocore parses it, and Chalice turns that into
`WebsocketDisconnectedError`.

The client's requests never leave the process: a `before-send` hook on it hands each
signed request to the same `ManagementApi` on the server's event loop and gives botocore
its answer as an HTTP response. Over loopback every push cost a connection's worth of
urllib3, a request for aiohttp to parse and two thread hops: about a millisecond of CPU
per frame, paid twice per ticket (the fast path and the stream). Other processes still
use the HTTP routes.
"""

import asyncio
import json
import logging
import threading
import uuid
from urllib.parse import unquote, urlsplit

import boto3
from aiohttp import web
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from .logs import Stopwatch
from .websocket_api import Connections

log = logging.getLogger("ws")
MAX_MESSAGE = 128 * 1024  # API Gateway's limit for one posted message


class LocalManagementSession:
    """Stands in for the boto3 session Chalice builds the management client from."""

    def __init__(self, endpoint_url: str, region: str):
        self.endpoint_url = endpoint_url
        self.region_name = region
        self._lock = threading.Lock()  # boto3 sessions are not safe to share across threads
        self._ready = None
        self._in_process = None

    def answer_in_process(self, api: "ManagementApi", loop: asyncio.AbstractEventLoop) -> None:
        """From now on, clients made here hand their requests to `api` on `loop`."""
        def answer(method, cid, body):
            future = asyncio.run_coroutine_threadsafe(api.answer(method, cid, body), loop)
            return future.result(timeout=10)

        self._in_process = _InProcess(answer, urlsplit(self.endpoint_url).path, loop)

    def answer_with(self, answer) -> None:
        """From now on, clients made here hand their requests to
        `answer(method, connection id, body) -> (status, headers, body)` (a worker process
        sends them to the stack, which owns the sockets)."""
        self._in_process = _InProcess(answer, urlsplit(self.endpoint_url).path)

    def warm(self) -> None:
        """Build the management client now, not during the first push (~0.2 s of loading)."""
        self._ready = self.client("apigatewaymanagementapi")

    def client(self, service_name: str, endpoint_url: str | None = None, **kwargs):
        if service_name == "apigatewaymanagementapi":
            if self._ready is not None and not kwargs:
                ready, self._ready = self._ready, None
                return ready
            endpoint_url = self.endpoint_url
            # The local endpoint checks no signature; never sign with real credentials.
            kwargs.setdefault("aws_access_key_id", "local")
            kwargs.setdefault("aws_secret_access_key", "local")
            kwargs.setdefault("config", Config(connect_timeout=2, read_timeout=10,
                                               retries={"max_attempts": 2, "mode": "standard"}))
        kwargs.setdefault("region_name", self.region_name)
        with self._lock:
            client = boto3.session.Session().client(service_name, endpoint_url=endpoint_url,
                                                    **kwargs)
        if service_name == "apigatewaymanagementapi":
            client.meta.events.register("before-send.apigatewaymanagementapi", self._before_send)
            client = _DirectPosts(client, lambda: self._in_process)
        return client

    def _before_send(self, request, **_):
        return self._in_process(request) if self._in_process is not None else None


class _DirectPosts:
    """The management client, but `post_to_connection` (two per ticket) skips botocore's
    request machinery (serialising, signing, endpoint rules, parsing: about a millisecond
    of CPU each) and goes straight to the answering stack. Its answers are what the
    client would make of the same response: nothing on success, the client's own
    exception classes on errors (GoneException for a closed socket). Every other call,
    and a post that cannot be answered directly, goes through the real client."""

    def __init__(self, client, direct):
        self._client = client
        self._direct = direct  # -> the session's _InProcess, or None
        self.exceptions = client.exceptions
        self.meta = client.meta

    def __getattr__(self, name):
        return getattr(self._client, name)

    def post_to_connection(self, *, Data, ConnectionId):  # noqa: N803 (boto3's names)
        direct = self._direct()
        answer = direct.answer(ConnectionId, Data) if direct is not None else None
        if answer is None:
            return self._client.post_to_connection(Data=Data, ConnectionId=ConnectionId)
        status, headers, body = answer
        metadata = {"HTTPStatusCode": status, "HTTPHeaders": headers, "RetryAttempts": 0,
                    "RequestId": headers.get("x-amzn-RequestId", "")}
        if status < 300:
            return {"ResponseMetadata": metadata}
        code = headers.get("x-amzn-ErrorType", str(status))
        try:
            message = json.loads(body).get("message", "")
        except ValueError:
            message = body.decode(errors="replace")
        error = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": metadata}
        raise self.exceptions.from_code(code)(error, "PostToConnection")


class _Body:
    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_):
        yield self._data


def _on_loop(loop) -> bool:
    """Whether this thread is running `loop` (never, for None: no loop given)."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class _InProcess:
    """A signed management API request -> `answer(method, cid, body)`: `ManagementApi.answer`
    on the server's `loop`, or the stack's, from a worker process."""

    def __init__(self, answer, prefix: str, loop=None):
        self._answer = answer
        self._loop = loop
        self._prefix = prefix.rstrip("/") + "/@connections/"

    def answer(self, cid: str, data) -> tuple[int, dict, bytes] | None:
        """A post to connection `cid`; None where it cannot be answered (on the loop)."""
        if _on_loop(self._loop):
            return None
        return self._answer("POST", cid, data.encode() if isinstance(data, str) else data)

    def __call__(self, request):
        path = urlsplit(request.url).path
        if not path.startswith(self._prefix) or _on_loop(self._loop):
            return None  # waiting here for the loop would wait forever: over HTTP instead
        cid = unquote(path[len(self._prefix):])
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        if hasattr(body, "read"):
            body = body.read()
        status, headers, data = self._answer(request.method, cid, body)
        return AWSResponse(request.url, status, headers, _Body(data))


def _error(status: int, code: str, message: str) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code,
                    "x-amzn-RequestId": str(uuid.uuid4())}, json.dumps({"message": message}).encode()


class ManagementApi:
    def __init__(self, connections: Connections, prefix: str = "/ws"):
        self._connections = connections
        self._path = prefix + "/@connections/{cid}"

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", self._path, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        status, headers, body = await self.answer(request.method, request.match_info["cid"],
                                                  await request.read())
        return web.Response(status=status, headers=headers, body=body)

    async def answer(self, method: str, cid: str, data: bytes) -> tuple[int, dict, bytes]:
        """(status, headers, body) for one call, over HTTP or from this process."""
        if method == "POST":
            return await self.post_to_connection(cid, data)
        if method == "GET":
            return self.get_connection(cid)
        if method == "DELETE":
            return await self.delete_connection(cid)
        return 405, {"Allow": "POST, GET, DELETE"}, b""

    async def post_to_connection(self, cid: str, data: bytes):
        clock = Stopwatch()
        if len(data) > MAX_MESSAGE:
            return _error(413, "PayloadTooLargeException", "Message too long")
        conn = self._connections.live(cid)
        delivered = conn is not None and await conn.post(data)
        log.debug("POST @connections/%s %d bytes -> %s in %.1f ms", cid, len(data),
                  200 if delivered else 410, clock.ms)
        if not delivered:
            return _error(410, "GoneException", f"Connection {cid} is gone")
        return 200, {}, b""

    def get_connection(self, cid: str):
        conn = self._connections.live(cid)
        log.debug("GET @connections/%s -> %s", cid, 410 if conn is None else 200)
        if conn is None:
            return _error(410, "GoneException", "Connection is gone")
        return 200, {"Content-Type": "application/json"}, json.dumps(conn.info()).encode()

    async def delete_connection(self, cid: str):
        conn = self._connections.live(cid)
        if conn is None:
            log.info("DELETE @connections/%s -> 410", cid)
            return _error(410, "GoneException", "Connection is gone")
        if conn.state == "open":
            await conn.close(1000)
        else:
            conn.state = "closed"  # still in $connect: it will never open
        log.info("DELETE @connections/%s -> 204", conn.id)
        return 204, {}, b""
