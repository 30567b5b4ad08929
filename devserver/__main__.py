"""`python -m devserver`: start everything, print where it is, stop cleanly on Ctrl-C/SIGTERM.

Order matters: the port is taken first (a busy port fails fast), the data store and the
app's settings are ready before `app` is imported, and the stream poller is positioned on
the stream before the first request can write to the table.
"""

import asyncio
import dataclasses
import importlib
import logging
import os
import signal
import sys
from pathlib import Path

import boto3
from aiohttp import web
from botocore.config import Config

from . import environment, lambdas, logs, schedule, server
from .gateway import RestGateway
from .management_api import LocalManagementSession, ManagementApi
from .static import Frontend
from .streams import StreamPoller, Waker
from .websocket_api import WebsocketEndpoint

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("devserver")


def _prepare_table(store, models) -> str:
    """Create the table (local stores) or insist it exists (AWS); return its stream ARN."""
    if store.kind == "aws":
        if not models.Item.exists():
            environment.fail(f"table {store.table!r} does not exist in {os.environ['AWS_REGION']}. "
                             "Deploy it first (make deploy), or unset PARLEY_TABLE to run "
                             "on the embedded DynamoDB.")
    elif models.create_table():
        log.info("created table %s with its stream", store.table)
    arn = models.stream_arn()
    if not arn:
        environment.fail(f"table {store.table!r} has no stream; Parley pushes from it.")
    return arn


def _banner(listen, store) -> str:
    url = listen.url
    lines = [
        "",
        "  Parley is running",
        f"    open        {url}/",
        f"    REST API    {url}/api",
        f"    WebSocket   ws://{listen.public_host}:{listen.port}/ws",
        f"    health      {url}/health",
        f"    data store  {store.describe()}, table {store.table!r}",
    ]
    if store.kind != "aws":
        lines += [
            "    real AWS    unset PARLEY_DYNAMODB_ENDPOINT, set AWS credentials (AWS_PROFILE,",
            "                or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), AWS_REGION and",
            "                PARLEY_TABLE=<a deployed table>, then run make run again",
        ]
    else:
        lines.append("    note        a deployed stack on this table also pushes to its own sockets")
    lines += ["  Press Ctrl-C to stop.", ""]
    return "\n".join(lines)


async def serve(sock, listen, store) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    parley = importlib.import_module("app")
    from chalicelib import models

    stream_arn = _prepare_table(store, models)
    app = parley.app
    region = os.environ["AWS_REGION"]
    session = LocalManagementSession(f"http://{listen.loopback_host}:{listen.port}/ws", region)
    session.warm()
    app.websocket_api.session = session
    handlers = lambdas.find(app)

    waker = Waker()
    streams_client = boto3.client(
        "dynamodbstreams", region_name=region,
        endpoint_url=os.environ.get("PARLEY_DYNAMODB_ENDPOINT") or None,
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 3,
                                                                   "mode": "standard"}))
    pollers = [StreamPoller(entry, streams_client, stream_arn, region, waker.event(),
                            resolve_arn=models.stream_arn) for entry in handlers.streams]
    for poller in pollers:
        poller.start()

    websockets = WebsocketEndpoint(handlers.websocket, environment.WS_API_ID,
                                   environment.WS_STAGE, waker)
    rest = RestGateway(app, waker)
    web_app = server.build(
        health=server.Health(store, models.Item.exists, pollers, websockets.connections),
        rest=rest, websockets=websockets, management=ManagementApi(websockets.connections),
        frontend=Frontend(ROOT / "frontend"))
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock, shutdown_timeout=5).start()
    cron = asyncio.create_task(schedule.run(handlers.schedules, region, waker))
    print(_banner(listen, store), flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            print("devserver: stopping now", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        log.info("stopping (%s); press Ctrl-C again to force", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    await stop.wait()

    cron.cancel()
    for poller in pollers:
        await loop.run_in_executor(None, poller.stop)
    await websockets.close_all()  # every open socket gets its $disconnect
    await runner.cleanup()
    rest.close()
    log.info("stopped")
    return 0


# The gateway, the Lambda worker, the stream poller and the embedded DynamoDB are
# threads of one process handing requests to each other; a 1 ms GIL switch interval
# (default 5 ms) keeps each hand-off from waiting out another thread's time slice.
SWITCH_INTERVAL = 0.001


def main() -> int:
    sys.setswitchinterval(SWITCH_INTERVAL)
    logs.setup()
    listen = environment.listen_address()
    sock = environment.bind(listen)
    store = environment.data_store()
    embedded = None
    try:
        if store.kind == "embedded":
            from .embedded_dynamodb import EmbeddedDynamoDB, UnsupportedMoto

            try:
                embedded = EmbeddedDynamoDB()
            except UnsupportedMoto as err:
                environment.fail(str(err))
            embedded.start()
            store = dataclasses.replace(store, endpoint=embedded.endpoint)
        environment.apply(listen, store)
        return asyncio.run(serve(sock, listen, store))
    except KeyboardInterrupt:
        return 130
    finally:
        sock.close()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    sys.exit(main())
