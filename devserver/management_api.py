"""The API Gateway management API (`@connections`) for the local WebSocket endpoint.

The app pushes with `app.websocket_api.send`, i.e. boto3's `apigatewaymanagementapi`
client. `LocalManagementSession` is what the stack assigns to `app.websocket_api.session`:
Chalice asks it for a client for `https://{api id}.execute-api.{region}.amazonaws.com/{stage}`
and gets a real boto3 client aimed at `http://<this server>/ws` instead, so the app runs
the same boto3 code path, errors included, as in AWS. A closed or unknown connection
answers 410 GoneException exactly as botocore parses it, and Chalice turns that into
`WebsocketDisconnectedError`.
"""

import json
import logging
import threading
import uuid

import boto3
from aiohttp import web
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
            return boto3.session.Session().client(service_name, endpoint_url=endpoint_url,
                                                  **kwargs)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status,
                             headers={"x-amzn-ErrorType": code,
                                      "x-amzn-RequestId": str(uuid.uuid4())})


class ManagementApi:
    def __init__(self, connections: Connections, prefix: str = "/ws"):
        self._connections = connections
        self._path = prefix + "/@connections/{cid}"

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(self._path, self.post_to_connection)
        router.add_get(self._path, self.get_connection)
        router.add_delete(self._path, self.delete_connection)

    async def post_to_connection(self, request: web.Request) -> web.Response:
        clock = Stopwatch()
        cid = request.match_info["cid"]
        data = await request.read()
        if len(data) > MAX_MESSAGE:
            return _error(413, "PayloadTooLargeException", "Message too long")
        conn = self._connections.live(cid)
        delivered = conn is not None and await conn.post(data)
        log.debug("POST @connections/%s %d bytes -> %s in %.1f ms", cid, len(data),
                  200 if delivered else 410, clock.ms)
        if not delivered:
            return _error(410, "GoneException", f"Connection {cid} is gone")
        return web.Response(status=200)

    async def get_connection(self, request: web.Request) -> web.Response:
        conn = self._connections.live(request.match_info["cid"])
        log.debug("GET @connections/%s -> %s", request.match_info["cid"], 410 if conn is None else 200)
        if conn is None:
            return _error(410, "GoneException", "Connection is gone")
        return web.Response(status=200, text=json.dumps(conn.info()),
                            content_type="application/json")

    async def delete_connection(self, request: web.Request) -> web.Response:
        conn = self._connections.live(request.match_info["cid"])
        if conn is None:
            log.info("DELETE @connections/%s -> 410", request.match_info["cid"])
            return _error(410, "GoneException", "Connection is gone")
        if conn.state == "open":
            await conn.close(1000)
        else:
            conn.state = "closed"  # still in $connect: it will never open
        log.info("DELETE @connections/%s -> 204", conn.id)
        return web.Response(status=204)
