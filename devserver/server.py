"""The one aiohttp application: every route of the local stack on one port, one log line each."""

import asyncio
import logging

from aiohttp import web

from .logs import Stopwatch, redact

log = logging.getLogger("http")


@web.middleware
async def access_log(request: web.Request, handler):
    """One line per HTTP request. WebSocket sessions and the @connections calls behind
    every push log their own lines (ws; the latter at DEBUG, as they would drown the rest)."""
    clock = Stopwatch()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        if request.path != "/ws" and not request.path.startswith("/ws/"):
            log.info("%s %s -> %d in %.1f ms", request.method, redact(request.path_qs), status,
                     clock.ms)


class Health:
    """GET /health: is the table reachable, the stream being read and every worker process
    running; which store is used, and (embedded store kept in a data directory) its last
    snapshot."""

    def __init__(self, store, table_exists, pollers, connections, snapshots=None, workers=None):
        self._store = store
        self._table_exists = table_exists
        self._pollers = pollers
        self._connections = connections
        self._snapshots = snapshots
        self._workers = workers

    async def __call__(self, request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        try:
            table_ok = await loop.run_in_executor(None, self._table_exists)
        except Exception:
            table_ok = False
        streams = [p.status for p in self._pollers]
        workers = None
        if self._workers is not None:
            workers = {"running": self._workers.ready, "of": self._workers.count,
                       "restarts": self._workers.restarts}
        ok = table_ok and all(s["healthy"] for s in streams) and (
            workers is None or workers["running"] == workers["of"])
        body = {"ok": ok,
                "dataStore": {"kind": self._store.kind, "description": self._store.describe(),
                              "endpoint": self._store.endpoint, "table": self._store.table,
                              "reachable": table_ok,
                              "snapshot": self._snapshots.status if self._snapshots else None},
                "streams": streams,
                "websockets": len(self._connections),
                "workers": workers}
        return web.json_response(body, status=200 if ok else 503,
                                 headers={"Cache-Control": "no-store"})


class Outbox:
    """GET /local/mail: the emails the embedded SES was asked to send (nothing leaves the
    machine), so a person running the stack, or a test, can read them."""

    def __init__(self, services):
        self._services = services

    async def __call__(self, request: web.Request) -> web.Response:
        mail = await asyncio.get_running_loop().run_in_executor(None, self._services.outbox)
        return web.json_response({"mail": mail}, headers={"Cache-Control": "no-store"})


def build(*, health, rest, websockets, management, frontend, outbox=None) -> web.Application:
    app = web.Application(middlewares=[access_log])
    app.router.add_get("/health", health)
    if outbox is not None:
        app.router.add_get("/local/mail", outbox)
    rest.add_routes(app.router)
    websockets.add_routes(app.router)
    management.add_routes(app.router)
    frontend.add_routes(app.router)  # last: it takes every other GET path
    return app
