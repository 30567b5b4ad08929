"""`python -m devserver.worker FD STACK_PID STORE WS_ENDPOINT`: one worker process of the stack.

It runs the app's REST routes, WebSocket routes and stream handler for the stack
(devserver/workers.py), which keeps the sockets, the embedded DynamoDB and everything
else. Its DynamoDB calls to the embedded store (`STORE`, host:port, `-` for another
store) go over the channel on `FD` as (service, target, body): botocore's own request
building and parsing stay here, on this core, and the stack answers them with
`direct_calls`, under the store's one lock. Its `@connections` calls go the same way to
the stack, which owns the sockets. It dies with the stack: the parent-death signal, and
the channel's end (the stack exited) end it too. Ctrl-C is for the stack, which stops
it in order.
"""

import ctypes
import importlib
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from chalice.local import LocalGatewayException

from . import bots, direct_calls, environment, lambdas, logs
from .channel import Channel
from .gateway import ChaliceRest
from .management_api import LocalManagementSession

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_THREADS = 16  # WebSocket routes and the stream handler at once, like Lambda's concurrency
PUSH_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1
# The channel's reader hands each answer to a waiting thread: as in the stack's process
# (devserver/__main__.py), a 1 ms GIL switch interval keeps that hand-off short.
SWITCH_INTERVAL = 0.001


def _die_with_parent(parent: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the stack died before the signal was set
        os._exit(0)


def _on(pool: ThreadPoolExecutor, work):
    """A channel handler running `work(payload)` on `pool`, answering with its result."""
    def handler(payload, reply):
        def run():
            try:
                value = work(payload)
            except Exception as err:
                reply(error=err)
            else:
                reply(value)
        pool.submit(run)
    return handler


def main(argv: list[str]) -> int:
    fd, parent, store, ws_endpoint = int(argv[0]), int(argv[1]), argv[2], argv[3]
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.setswitchinterval(SWITCH_INTERVAL)
    logs.setup()
    channel = Channel(fd, name="stack")
    if store != "-":  # before the app makes its first client: every session has the hook
        direct_calls.direct_calls().endpoints[store] = lambda *request: channel.call("db", request)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    app = importlib.import_module("app").app
    from chalicelib import launcher

    session = LocalManagementSession(ws_endpoint, environment.region())
    session.answer_with(lambda method, cid, body: channel.call("push", (method, cid, body),
                                                               timeout=PUSH_TIMEOUT))
    app.websocket_api.session = session
    found = lambdas.find(app)
    entries = {e.name: e for e in [*found.websocket.values(), *found.streams]}
    rest = ChaliceRest(app)

    def rest_call(request):
        try:
            return "ok", rest(*request)
        except LocalGatewayException:
            return "no_route", None

    one = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rest")
    many = ThreadPoolExecutor(max_workers=LAMBDA_THREADS, thread_name_prefix="lambda")
    channel.handlers = {
        "rest": _on(one, rest_call),
        "lambda": _on(many, lambda call: entries[call[0]](call[1])),
        "stop_bots": _on(many, lambda _: bots.stop_launched(launcher.current())),
    }
    channel.start()
    session.warm()
    channel.call("ready", os.getpid())
    channel.wait_closed()
    logging.shutdown()
    os._exit(0)  # threads still waiting on the stack have nobody left to answer them


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
