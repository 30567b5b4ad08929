"""`python -m devserver`: start everything, print where it is, stop cleanly on Ctrl-C/SIGTERM.

Order matters: the port is taken first (a busy port fails fast) and the snapshot of the
embedded store is read (a damaged one fails fast too), the data store and the app's
settings are ready before `app` is imported, the snapshot's items are restored (and the
sockets a killed run left behind get their `$disconnect`) before the stream poller takes
its position, so they push nothing, and the poller is positioned on the stream before the
first request can write to the table.
"""

import asyncio
import dataclasses
import importlib
import logging
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from aiohttp import web
from botocore.config import Config

from . import (
    bots,
    coturn,
    datadir,
    direct_calls,
    environment,
    housekeeping,
    lambdas,
    logs,
    schedule,
    server,
    snapshots,
)
from .gateway import RestGateway
from .management_api import LocalManagementSession, ManagementApi
from .static import Frontend
from .stream_reads import DirectStreamReads
from .streams import StreamPoller, Waker
from .websocket_api import WebsocketEndpoint
from .workers import Workers

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


async def _release_stale_sockets(models, websockets, host: str) -> None:
    """A killed run left Connection items of sockets that are gone: each gets the
    `$disconnect` it missed, so its participant is marked disconnected (the page reconnects
    with its token, or the participant times out later)."""
    stale = list(models.Connection.scan(consistent_read=True))
    for conn in stale:
        await websockets.release(conn.connection_id, conn.created_at.timestamp(), host)
    if stale:
        log.info("%d socket(s) of the previous run had no $disconnect: given it now", len(stale))


def _banner(listen, store, data_dir, services=None, turn="off", ice_policy=None) -> str:
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
    if services is not None:
        lines += [f"    S3, SES     embedded (moto) at {services.endpoint}, bucket {services.bucket!r}",
                  f"    mail        {url}/local/mail (what the stack emailed; nothing is sent)"]
    lines.append(f"    TURN        {turn}")
    if ice_policy == "relay":
        lines.append("    ICE         relay only (PARLEY_ICE_POLICY=relay): every call goes through TURN")
    if data_dir is None:
        lines.append("    kept        nothing: PARLEY_EPHEMERAL=1 (tokens end with this run)")
    else:
        what = "the token secret and the table's snapshot" if store.kind == "embedded" \
            else "the token secret"
        lines.append(f"    data dir    {datadir.shown(data_dir)}/ ({what})")
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


def _delivered(pollers) -> dict:
    """Per shard, the last sequence number every poller has delivered."""
    merged = None
    for poller in pollers:
        mine = poller.positions()
        merged = mine if merged is None else {k: min(v, mine[k]) for k, v in merged.items()
                                              if k in mine}
    return merged or {}


async def _keep_house(work, interval: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        try:
            await loop.run_in_executor(None, work)
        except Exception:
            log.exception("housekeeping of the embedded DynamoDB failed; trying again")


async def serve(sock, listen, store, data_dir=None, kept=None, embedded=None,
                services=None, turn="off", ice_policy=None) -> int:
    """`data_dir`: where this run keeps its state (None: nowhere); `kept`: the embedded
    store's Snapshots (None when its items are not kept); `embedded`: the embedded
    DynamoDB (None for another store), whose streams and TTL this process looks after;
    `services`: the embedded S3 and SES (None when the app uses others); `turn`: what the
    banner says of TURN; `ice_policy`: the pages' iceTransportPolicy (None: the default)."""
    loop = asyncio.get_running_loop()
    ws_endpoint = f"http://{listen.loopback_host}:{listen.port}/ws"
    # first: a worker imports the app on the other core while this process does
    workers = _start_workers(environment.workers(), loop, ws_endpoint, embedded)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    parley = importlib.import_module("app")
    from chalicelib import launcher, models, roster, signaling

    stream_arn = _prepare_table(store, models)
    app = parley.app
    region = os.environ["AWS_REGION"]
    session = LocalManagementSession(ws_endpoint, region)
    session.warm()
    app.websocket_api.session = session
    handlers = lambdas.find(app)
    remote = workers.remote if workers is not None else (lambda entry: entry)
    if workers is not None:
        await loop.run_in_executor(None, workers.wait_ready)

    waker = Waker()
    websockets = WebsocketEndpoint({k: remote(e) for k, e in handlers.websocket.items()},
                                   environment.WS_API_ID, environment.WS_STAGE, waker)
    management = ManagementApi(websockets.connections)
    if workers is not None:
        workers.management = management
    if kept is not None:  # before the poller takes its position: nothing of this is pushed
        try:
            await asyncio.get_running_loop().run_in_executor(None, kept.restore)
        except snapshots.SnapshotError as err:
            environment.fail(str(err))
        await _release_stale_sockets(models, websockets, f"{listen.public_host}:{listen.port}")
        if kept.lost_last_writes:
            skipped = signaling.skip_ticket_numbers()
            log.warning("the previous run was killed: its last writes are lost; %d participants' "
                        "ticket numbers move %d ahead, so pages see a gap and replay",
                        skipped, signaling.LOST_NUMBERS)
        excused = roster.excuse_absences(time.time())
        if excused:
            log.info("%d participant(s) without a socket get a fresh %d s to reconnect",
                     excused, roster.STALE_SECONDS)
    streams_client = boto3.client(
        "dynamodbstreams", region_name=region,
        endpoint_url=os.environ.get("PARLEY_DYNAMODB_ENDPOINT") or None,
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 3,
                                                                   "mode": "standard"}))
    if embedded is not None:
        streams_client = DirectStreamReads(
            streams_client, _store_apply(embedded)[1],
            region)
    pollers = [StreamPoller(remote(entry), streams_client, stream_arn, region, waker.event(),
                            resolve_arn=models.stream_arn) for entry in handlers.streams]
    for poller in pollers:
        poller.start()

    rest = RestGateway(app, waker) if workers is None else \
        RestGateway(app, waker, call=workers.rest, threads=workers.count + 1)
    session.answer_in_process(management, loop)
    web_app = server.build(
        health=server.Health(store, models.Item.exists, pollers, websockets.connections, kept,
                             workers),
        rest=rest, websockets=websockets, management=management,
        frontend=Frontend(ROOT / "frontend", ice_policy=ice_policy,
                          upload_origin=os.environ.get("PARLEY_S3_ENDPOINT")),
        outbox=server.Outbox(services) if services is not None else None)
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock, shutdown_timeout=5).start()
    cron = asyncio.create_task(schedule.run(handlers.schedules, region, waker))
    saver = asyncio.create_task(kept.run()) if kept is not None else None
    tidy = None
    if embedded is not None:
        chores = housekeeping.Housekeeping(embedded, lambda: _delivered(pollers))
        tidy = asyncio.create_task(_keep_house(chores.run_once, housekeeping.TRIM_INTERVAL))
    print(_banner(listen, store, data_dir, services, turn, ice_policy), flush=True)

    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            print("devserver: stopping now", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        log.info("stopping (%s); press Ctrl-C again to force", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    await stop.wait()

    # bots first, while the stack still answers: a bot leaves and reports as it stops
    await loop.run_in_executor(None, bots.stop_launched, launcher.current())
    if workers is not None:
        await loop.run_in_executor(None, workers.stop_bots)
    cron.cancel()
    if tidy is not None:
        tidy.cancel()
    if saver is not None:
        saver.cancel()  # the last snapshot is taken once every socket had its $disconnect
    for poller in pollers:
        await loop.run_in_executor(None, poller.stop)
    await websockets.close_all()  # every open socket gets its $disconnect
    await runner.cleanup()
    rest.close()
    if workers is not None:
        await loop.run_in_executor(None, workers.stop)
    log.info("stopped")
    return 0


def _store_apply(embedded):
    """(host:port, apply): the embedded DynamoDB's address and how its calls are answered
    without HTTP (direct_calls)."""
    store = urlsplit(embedded.endpoint).netloc
    return store, direct_calls.direct_calls().endpoints[store]


def _start_workers(count, loop, ws_endpoint, embedded):
    """PARLEY_WORKERS processes for the app's handlers, started (not yet ready); None for 0.
    Called on the main thread (see devserver/workers.py)."""
    if not count:
        return None
    store, apply = _store_apply(embedded) if embedded is not None else (None, None)
    workers = Workers(count, loop, ws_endpoint, store, apply)
    workers.spawn()
    return workers


# The gateway, the Lambda worker, the stream poller and the embedded DynamoDB are
# threads of one process handing requests to each other; a 1 ms GIL switch interval
# (default 5 ms) keeps each hand-off from waiting out another thread's time slice.
SWITCH_INTERVAL = 0.001


def main() -> int:
    sys.setswitchinterval(SWITCH_INTERVAL)
    logs.setup()
    listen = environment.listen_address()
    data_dir = datadir.resolve()
    sock = environment.bind(listen)
    store = environment.data_store()
    ice_policy = environment.ice_policy()
    embedded = kept = services = turn = None
    try:
        if data_dir is not None:
            datadir.lock(datadir.prepare(data_dir))
        turn = _start_turn(data_dir)  # before any thread starts (devserver/coturn.py)
        if store.kind == "embedded":
            from .embedded_dynamodb import EmbeddedDynamoDB, UnsupportedMoto

            try:
                db = EmbeddedDynamoDB()
            except UnsupportedMoto as err:
                environment.fail(str(err))
            if data_dir is not None:
                kept = snapshots.Snapshots(snapshots.file_for(data_dir, store.table), db,
                                           store.table, environment.region())
                try:
                    kept.load()
                except snapshots.SnapshotError as err:
                    environment.fail(str(err))
            db.start()
            embedded = db
            store = dataclasses.replace(store, endpoint=embedded.endpoint,
                                        kept_in=data_dir and datadir.shown(data_dir))
        environment.apply(listen, store, data_dir and (lambda: datadir.token_secret(data_dir)),
                          bot_logs=data_dir and str(data_dir / "bots"))
        if store.kind != "aws" and not (os.environ.get("PARLEY_S3_ENDPOINT")
                                         or os.environ.get("PARLEY_SES_ENDPOINT")):
            services = _start_services(data_dir, listen)
        turn = _turn_ready(turn)
        return asyncio.run(serve(sock, listen, store, data_dir, kept, embedded, services,
                                 _turn_shown(turn), ice_policy))
    except KeyboardInterrupt:
        return 130
    finally:
        sock.close()
        if kept is not None:
            _last_snapshot(kept)
        if embedded is not None:
            embedded.stop()
        if services is not None:
            _stop_services(services, data_dir)
        if turn is not None:
            turn.stop()


def _start_turn(data_dir):
    """The local coturn, started but not yet ready; None with TURN=off, with a TURN server
    of the user's own (PARLEY_TURN_URLS), or when coturn is not installed (said in one line)."""
    if not environment.turn_wanted() or os.environ.get("PARLEY_TURN_URLS"):
        return None
    if coturn.binary() is None:
        log.warning("coturn is not installed (make coturn installs it): running without TURN")
        return None
    secret = os.environ.get("PARLEY_TURN_SECRET") or (
        datadir.turn_secret(data_dir) if data_dir is not None else secrets.token_urlsafe(32))
    server = coturn.Coturn(secret, data_dir)
    try:
        server.start()
    except (coturn.NotReady, OSError) as err:
        log.warning("cannot start coturn (%s): running without TURN", err)
        server.stop()
        return None
    return server


def _turn_ready(server):
    """Once it answers, point the app at it (PARLEY_TURN_URLS, PARLEY_TURN_SECRET), so join
    responses carry its URLs and credentials; a server that does not answer is stopped."""
    if server is None:
        return None
    try:
        server.wait_ready()
    except coturn.NotReady as err:
        log.warning("running without TURN: %s", err)
        server.stop()
        return None
    os.environ["PARLEY_TURN_URLS"] = ",".join(server.urls)
    os.environ["PARLEY_TURN_SECRET"] = server.secret
    return server


def _turn_shown(server) -> str:
    if server is not None:
        return server.describe()
    if os.environ.get("PARLEY_TURN_URLS"):
        return f"{os.environ['PARLEY_TURN_URLS']} (PARLEY_TURN_URLS)"
    return "none" + (" (TURN=off)" if not environment.turn_wanted() else ": see the warning above")


def _start_services(data_dir, listen):
    """The embedded S3 and SES, the app pointed at them, and the kept objects put back.
    Pages of this stack's own origins may upload to its bucket."""
    from . import embedded_services

    services = embedded_services.EmbeddedServices(
        environment.region(), origins=environment.site_origins(listen),
        app_secret=environment.signing_secret())
    services.start()
    for name, value in services.settings().items():
        os.environ.setdefault(name, value)
    if data_dir is not None:
        restored = services.restore_objects(embedded_services.objects_folder(data_dir))
        if restored:
            log.info("%d S3 object(s) of the previous run put back", restored)
    return services


def _stop_services(services, data_dir) -> None:
    from . import embedded_services

    try:
        if data_dir is not None:
            services.keep_objects(embedded_services.objects_folder(data_dir))
    except Exception:
        log.exception("cannot copy the embedded S3's objects to %s", data_dir)
    finally:
        services.stop()


def _last_snapshot(kept) -> None:
    try:
        if kept.save(final=True):
            log.info("snapshot written to %s", kept.path)
    except Exception:
        log.exception("cannot write the last snapshot %s; the one before it is kept", kept.path)


if __name__ == "__main__":
    sys.exit(main())
