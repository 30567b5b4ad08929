"""WebSocket endpoint at /ws behaving like an API Gateway WebSocket API.

Per connection: `$connect` runs before the upgrade and can refuse it with its status code;
each client message invokes `$default`; `$disconnect` runs exactly once however the socket
ends (client close, abrupt drop, oversized frame, idle timeout, DELETE @connections,
shutdown). Messages over 32 KB close the socket with 1009 (message too big): API Gateway
refuses frames over 32 KB, and the app never needs more. Sockets of a previous run of the
stack that ended without a `$disconnect` (it was killed) get theirs at start (`release`).
"""

import asyncio
import base64
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from .logs import Stopwatch, redact

log = logging.getLogger("ws")
MAX_FRAME = 32 * 1024
IDLE_TIMEOUT = 10 * 60      # API Gateway closes a connection with no client message for 10 min
MAX_LIFETIME = 2 * 60 * 60  # ... and every connection after 2 h
GOING_AWAY = 1001


def new_connection_id() -> str:
    """16 characters like API Gateway's (e.g. `JsFD5dcSIAMCJvw=`), safe in a URL path."""
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode()


def _request_time(now: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))


@dataclass
class Connection:
    """One client socket. Frames posted while `$connect` is still running are held back
    and sent once the upgrade completes, so a push racing a connect is not lost."""

    id: str
    ws: web.WebSocketResponse
    source_ip: str
    user_agent: str
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    state: str = "connecting"  # connecting | open | closed
    pending: list = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int | None = None
    close_reason: str | None = None

    async def post(self, data: bytes) -> bool:
        """Deliver one message; False means the connection is gone (API Gateway's 410)."""
        if self.state == "closed" or self.ws.closed:
            return False
        if self.state == "connecting":
            self.pending.append(data)
            return True
        try:
            await _send(self.ws, data)
        except (ConnectionError, RuntimeError):
            return False
        return True

    async def open(self) -> None:
        while self.pending and self.state == "connecting":
            await _send(self.ws, self.pending.pop(0))
        if self.state == "connecting":  # no await since the last check: order is kept
            self.state = "open"

    async def close(self, code: int, reason: str = "") -> None:
        """Close from the server side; `$disconnect` reports this code and reason."""
        self.close_code, self.close_reason = code, reason or "closed by the server"
        await self.ws.close(code=code, message=reason.encode())

    def info(self) -> dict:
        iso = "%Y-%m-%dT%H:%M:%S.000Z"
        return {"connectedAt": time.strftime(iso, time.gmtime(self.connected_at)),
                "lastActiveAt": time.strftime(iso, time.gmtime(self.last_active_at)),
                "identity": {"sourceIp": self.source_ip, "userAgent": self.user_agent}}


async def _send(ws: web.WebSocketResponse, data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        await ws.send_bytes(data)
    else:
        await ws.send_str(text)


class Connections(dict):
    """Open (and connecting) sockets by connection id; the @connections API looks here."""

    def live(self, cid: str) -> Connection | None:
        conn = self.get(cid)
        return conn if conn is not None and conn.state != "closed" else None


class WebsocketEndpoint:
    def __init__(self, handlers: dict, api_id: str, stage: str, after_event):
        """`handlers`: route key -> Lambda entry; `after_event()` wakes the stream poller."""
        self.connections = Connections()
        self._handlers = handlers
        self._api_id = api_id
        self._stage = stage
        self._after_event = after_event
        self._stopping = False

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/ws", self.handle)

    async def _invoke(self, route_key: str, event: dict) -> dict | None:
        entry = self._handlers.get(route_key)
        if entry is None:
            return None
        try:
            return await asyncio.get_running_loop().run_in_executor(None, entry, event)
        finally:
            self._after_event()

    def _context(self, host: str, conn: Connection, route_key: str, event_type: str,
                 **extra) -> dict:
        now = time.time()
        request_id = str(uuid.uuid4())
        return {
            "routeKey": route_key, "eventType": event_type, "messageDirection": "IN",
            "extendedRequestId": request_id, "requestId": request_id,
            "requestTime": _request_time(now), "requestTimeEpoch": int(now * 1000),
            "connectedAt": int(conn.connected_at * 1000), "connectionId": conn.id,
            "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
            "domainName": host, "stage": self._stage, "apiId": self._api_id, **extra,
        }

    def _connect_event(self, request, conn: Connection) -> dict:
        query = {k: request.query.getall(k) for k in request.query}
        return {
            "headers": dict(request.headers),
            "multiValueHeaders": {k: request.headers.getall(k) for k in request.headers},
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "requestContext": self._context(request.host, conn, "$connect", "CONNECT"),
            "isBase64Encoded": False,
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        clock = Stopwatch()
        where = redact(request.path_qs)
        ws = web.WebSocketResponse(max_msg_size=MAX_FRAME + 1, compress=False, autoping=True)
        if not ws.can_prepare(request).ok:
            log.info("%s %s is not a WebSocket upgrade -> 426", request.method, where)
            return web.json_response({"message": "Expected a WebSocket upgrade"}, status=426,
                                     headers={"Upgrade": "websocket"})
        conn = Connection(new_connection_id(), ws, request.remote or "",
                          request.headers.get("User-Agent", ""))
        self.connections[conn.id] = conn
        try:
            result = await self._invoke("$connect", self._connect_event(request, conn)) or {}
        except Exception:
            log.exception("$connect failed for %s", conn.id)
            result = {"statusCode": 500, "body": '{"message": "Internal server error"}'}
        status = int(result.get("statusCode", 200))
        if not 200 <= status < 300:
            conn.state = "closed"
            del self.connections[conn.id]
            conn.closed.set()
            log.info("CONNECT %s refused -> %d in %.1f ms", where, status, clock.ms)
            body = result.get("body")
            return web.Response(status=status, headers=result.get("headers") or {},
                                body=body.encode() if isinstance(body, str) else body)
        reason = "client closed"
        try:
            await ws.prepare(request)
            await conn.open()
            if self._stopping:
                await conn.close(GOING_AWAY, "Server shutting down")
            elif conn.state != "open":  # DELETE @connections arrived during $connect
                await conn.close(1000)
            log.info("CONNECT %s %s -> 101 in %.1f ms", where, conn.id, clock.ms)
            reason = await self._read(request, conn)
        except (ConnectionError, asyncio.CancelledError):
            reason = "connection lost"
        finally:
            await self._disconnect(request, conn, reason)
        return ws

    async def _read(self, request, conn: Connection) -> str:
        ws = conn.ws
        while True:
            remaining = conn.connected_at + MAX_LIFETIME - time.time()
            try:
                msg = await ws.receive(timeout=max(0.0, min(IDLE_TIMEOUT, remaining)))
            except TimeoutError:
                idle = remaining > IDLE_TIMEOUT
                await conn.close(GOING_AWAY, "Going away")
                conn.close_reason = "idle timeout" if idle else "connection lifetime reached"
                return conn.close_reason
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                conn.last_active_at = time.time()
                await self._message(request, conn, msg)
            elif msg.type == WSMsgType.ERROR:  # e.g. a message over MAX_FRAME: closed with 1009
                conn.close_code = getattr(msg.data, "code", None)
                return f"error: {msg.data}"
            else:  # CLOSE, CLOSING, CLOSED
                return "client closed" if msg.type == WSMsgType.CLOSE else "closed"

    async def _message(self, request, conn: Connection, msg) -> None:
        clock = Stopwatch()
        binary = msg.type == WSMsgType.BINARY
        body = base64.b64encode(msg.data).decode() if binary else msg.data
        context = self._context(request.host, conn, "$default", "MESSAGE",
                                messageId=new_connection_id())
        event = {"requestContext": context, "body": body, "isBase64Encoded": binary}
        try:
            await self._invoke("$default", event)
        except Exception:  # API Gateway tells the client, nothing else happens
            log.exception("$default failed for %s", conn.id)
            await conn.post(json.dumps({"message": "Internal server error", "connectionId": conn.id,
                                        "requestId": context["requestId"]}).encode())
        log.info("MESSAGE %s %d bytes in %.1f ms", conn.id, len(msg.data), clock.ms)

    async def _disconnect(self, request, conn: Connection, reason: str) -> None:
        clock = Stopwatch()
        conn.state = "closed"
        code = conn.close_code or conn.ws.close_code or 1006
        reason = conn.close_reason or reason
        event = self._disconnect_event(request.host, conn, code, reason)
        try:
            await asyncio.shield(self._invoke("$disconnect", event))
        except Exception:
            log.exception("$disconnect failed for %s", conn.id)
        finally:
            self.connections.pop(conn.id, None)
            conn.closed.set()
        log.info("DISCONNECT %s code %d (%s) in %.1f ms", conn.id, code, reason, clock.ms)

    def _disconnect_event(self, host: str, conn: Connection, code: int, reason: str) -> dict:
        context = self._context(host, conn, "$disconnect", "DISCONNECT",
                                disconnectStatusCode=code, disconnectReason=reason)
        return {"headers": {"Host": host}, "multiValueHeaders": {"Host": [host]},
                "requestContext": context, "isBase64Encoded": False}

    async def release(self, connection_id: str, connected_at: float, host: str) -> None:
        """`$disconnect` for a socket that no longer exists and never had one: it was open
        when the stack was killed, and the restored table still names it. Reported as a
        dropped connection (1006), like a socket whose TCP connection was lost."""
        clock = Stopwatch()
        gone = Connection(connection_id, None, "", "", connected_at=connected_at,
                          last_active_at=connected_at, state="closed")
        reason = "lost when the stack stopped"
        try:
            await self._invoke("$disconnect", self._disconnect_event(host, gone, 1006, reason))
        except Exception:
            log.exception("$disconnect failed for %s", connection_id)
        log.info("DISCONNECT %s code 1006 (%s) in %.1f ms", connection_id, reason, clock.ms)

    async def close_all(self, timeout: float = 10) -> None:
        """Shutdown: close every socket with 1001 and wait for their `$disconnect`."""
        self._stopping = True
        conns = list(self.connections.values())
        for conn in conns:
            if conn.state == "open":
                await conn.close(GOING_AWAY, "Server shutting down")
        if conns:
            await asyncio.wait([asyncio.create_task(c.closed.wait()) for c in conns],
                               timeout=timeout)
