"""Worker processes for the app's handlers, so the stack uses more than one core.

In one process everything shares one GIL: at ~10 ms of CPU per ticket the stack held
~100 tickets/s. With PARLEY_WORKERS=N (docs/LOCAL.md) the app's REST routes, WebSocket
routes and stream handler run in N processes (devserver/worker.py), and this process
keeps what must be one: the sockets, the embedded DynamoDB, the stream poller, the
schedule, snapshots and housekeeping. A worker's DynamoDB calls come back here over its
channel and are answered by `direct_calls` like this process's own; its pushes come back
here to the sockets. Requests go to the workers in turn.

A worker that exits is logged as an error and started again; calls it had not answered
fail (a REST request answers 502, a stream batch is retried), and new calls wait for
a worker to be ready. Workers are started from the main thread: the parent-death signal
they set is tied to the thread that started them.
"""

import asyncio
import itertools
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from chalice.local import LocalGatewayException

from . import bots
from .channel import Channel, ChannelClosed

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60.0  # importing the app and botocore's models on a busy machine
STOP_TIMEOUT = 5.0
QUICK_EXIT = 5.0      # a worker that dies sooner than this after starting is restarted ...
RESTART_DELAY = 2.0   # ... after this pause, so a crash at import does not spin
log = logging.getLogger("devserver")


class WorkerGone(RuntimeError):
    """No worker is ready to take the call."""


@dataclass
class RemoteEntry:
    """A Lambda entry point (lambdas.Entry) that runs in a worker."""

    name: str
    config: object
    invoke: object

    def __call__(self, event: dict):
        return self.invoke(self.name, event)


class _Worker:
    def __init__(self, number: int, proc: subprocess.Popen, channel: Channel):
        self.number = number
        self.proc = proc
        self.channel = channel
        self.started = time.monotonic()
        self.ready = threading.Event()


class Workers:
    def __init__(self, count: int, loop: asyncio.AbstractEventLoop, ws_endpoint: str,
                 store: str | None = None, store_apply=None):
        """Pushes go to `management` (a ManagementApi, set before the first) on `loop`;
        `store`: the embedded
        DynamoDB's host:port, whose calls `store_apply(service, target, body, region,
        access_key)` answers (None: the workers reach the data store themselves)."""
        self.count = count
        self.management = None
        self._loop = loop
        self._ws_endpoint = ws_endpoint
        self._store = store
        self._store_apply = store_apply
        self._workers: list[_Worker | None] = [None] * count
        self._turn = itertools.count()
        self._changed = threading.Condition()
        self._stopping = False
        self.restarts = 0

    # --- lifecycle (spawn and restart on the main thread) --------------------------------

    def spawn(self) -> None:
        for number in range(self.count):
            self._spawn(number)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        for number in range(self.count):
            worker = self._workers[number]
            if not worker.ready.wait(max(0.0, deadline - time.monotonic())):
                raise WorkerGone(f"worker {number} did not start within {timeout:.0f} s")

    def _spawn(self, number: int) -> None:
        if self._stopping:
            return
        ours, theirs = socket.socketpair()
        proc = subprocess.Popen(  # noqa: S603 (this Python, our own module)
            [sys.executable, "-m", "devserver.worker", str(theirs.fileno()), str(os.getpid()),
             self._store or "-", self._ws_endpoint],
            cwd=ROOT, pass_fds=(theirs.fileno(),))
        theirs.close()
        worker = None

        def ready(pid, reply):
            worker.ready.set()
            with self._changed:
                self._changed.notify_all()
            log.info("worker %d ready (pid %d)", number, pid)
            reply(None)

        channel = Channel(ours.detach(), name=f"worker{number}",
                          handlers={"db": self._db, "push": self._push, "ready": ready},
                          on_close=lambda: self._exited(number, worker))
        worker = _Worker(number, proc, channel)
        self._workers[number] = worker
        channel.start()

    def _exited(self, number: int, worker: _Worker) -> None:
        """On the channel's reading thread, once a worker's socket has ended."""
        try:
            code = worker.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:  # it closed its end but lives on: end it
            worker.proc.kill()
            code = worker.proc.wait()
        if self._stopping:
            return
        self.restarts += 1
        log.error("worker %d (pid %d) exited with code %s; starting it again", number,
                  worker.proc.pid, code)
        delay = RESTART_DELAY if time.monotonic() - worker.started < QUICK_EXIT else 0.0
        try:
            self._loop.call_soon_threadsafe(self._loop.call_later, delay, self._spawn, number)
        except RuntimeError:  # the loop has ended: the stack is stopping
            pass

    def stop_bots(self) -> int:
        """Stop the bots each worker's launcher started (while the stack still answers)."""
        stopped = 0
        for worker in list(self._workers):
            if worker is not None and worker.ready.is_set():
                try:
                    stopped += worker.channel.call("stop_bots", None,
                                                   timeout=bots.GRACE + STOP_TIMEOUT)
                except Exception:
                    log.exception("worker %d could not stop its bots", worker.number)
        return stopped

    def stop(self) -> None:
        self._stopping = True
        with self._changed:
            self._changed.notify_all()
        for worker in self._workers:
            if worker is not None:
                worker.channel.close()
        for worker in self._workers:
            if worker is None:
                continue
            try:
                worker.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("worker %d (pid %d) did not stop; killed", worker.number,
                            worker.proc.pid)
                worker.proc.kill()
                worker.proc.wait()

    def _live(self) -> list[_Worker]:
        """The workers started, ready, and not gone."""
        return [w for w in self._workers if w is not None and w.ready.is_set()
                and not w.channel.closed]

    @property
    def ready(self) -> int:
        return len(self._live())

    # --- calls into the workers ----------------------------------------------------------

    def _pick(self) -> _Worker:
        deadline = time.monotonic() + READY_TIMEOUT
        with self._changed:
            while not self._stopping:
                live = self._live()
                if live:
                    return live[next(self._turn) % len(live)]
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 0.5))
        raise WorkerGone("no worker is running")

    def rest(self, method, path, headers, body, source_ip) -> dict:
        """gateway.RestGateway's `call`: the request through the app in a worker."""
        kind, result = self._pick().channel.call("rest", (method, path, headers, body,
                                                          source_ip))
        if kind == "no_route":
            raise LocalGatewayException({})
        return result

    def invoke(self, name: str, event: dict):
        return self._pick().channel.call("lambda", (name, event))

    def remote(self, entry) -> RemoteEntry:
        return RemoteEntry(entry.name, entry.config, self.invoke)

    # --- calls from the workers (on a channel's reading thread) --------------------------

    def _db(self, request, reply) -> None:
        if self._store_apply is None:
            reply(error=ChannelClosed("this stack has no embedded DynamoDB"))
            return
        reply(self._store_apply(*request))

    def _push(self, request, reply) -> None:
        future = asyncio.run_coroutine_threadsafe(self.management.answer(*request), self._loop)

        def done(f):
            error = f.exception()
            if error is not None:
                reply(error=error)
            else:
                reply(f.result())
        future.add_done_callback(done)
