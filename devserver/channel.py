"""Numbered calls both ways over one socket between the stack and a worker process.

Each side can `call(kind, payload)` the other and wait for the answer; the answers come
back on the same socket, matched by number, so many threads can wait at once. Incoming
calls go to `handlers[kind](payload, reply)`, on the reading thread: a handler that
would block hands the work to a thread of its own and calls `reply` from there. When the
socket ends (the other process exited or was killed), every call still waiting fails
with `ChannelClosed` and `on_close()` runs.
"""

import itertools
import os
import pickle
import socket
import threading
import traceback
from concurrent.futures import Future
from multiprocessing.connection import Connection


class ChannelClosed(ConnectionError):
    """The other process is gone; the call's outcome is unknown."""


class RemoteError(RuntimeError):
    """The call raised in the other process; the message holds its traceback."""


class Channel:
    def __init__(self, fd: int, handlers: dict | None = None, on_close=None, name: str = "channel"):
        self._conn = Connection(fd)
        self.handlers = handlers or {}
        self._on_close = on_close
        self._send_lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._waiting: dict[int, Future] = {}
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, name=f"{name}-reader", daemon=True)

    def start(self) -> None:
        self._reader.start()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait_closed(self, timeout: float | None = None) -> bool:
        return self._closed.wait(timeout)

    def send(self, message) -> None:
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        try:
            with self._send_lock:
                self._conn.send_bytes(data)
        except OSError as err:
            raise ChannelClosed(str(err)) from err

    def call_async(self, kind: str, payload) -> Future:
        future = Future()
        if self._closed.is_set():
            future.set_exception(ChannelClosed("the other process is gone"))
            return future
        number = next(self._numbers)
        self._waiting[number] = future
        try:
            self.send(("call", number, kind, payload))
        except ChannelClosed as err:
            self._waiting.pop(number, None)
            future.set_exception(err)
        if self._closed.is_set():  # closed between the check and the send: nobody answers
            self._fail_waiting()
        return future

    def call(self, kind: str, payload, timeout: float | None = None):
        return self.call_async(kind, payload).result(timeout)

    def _replier(self, number: int):
        def reply(value=None, error: BaseException | None = None) -> None:
            if error is not None:
                text = "".join(traceback.format_exception(error)).rstrip()
                message = ("error", number, text)
            else:
                message = ("reply", number, value)
            try:
                self.send(message)
            except ChannelClosed:
                pass  # the caller is gone; nobody waits for this answer
        return reply

    def _read(self) -> None:
        try:
            while True:
                message = pickle.loads(self._conn.recv_bytes())  # noqa: S301 (our own child)
                what, number = message[0], message[1]
                if what == "call":
                    reply = self._replier(number)
                    try:
                        self.handlers[message[2]](message[3], reply)
                    except Exception as err:
                        reply(error=err)
                else:
                    future = self._waiting.pop(number, None)
                    if future is None:
                        continue
                    if what == "reply":
                        future.set_result(message[2])
                    else:
                        future.set_exception(RemoteError(message[2]))
        except (EOFError, OSError):
            pass
        finally:
            self._closed.set()
            self._fail_waiting()
            self._conn.close()
            if self._on_close is not None:
                self._on_close()

    def _fail_waiting(self) -> None:
        while self._waiting:
            _, future = self._waiting.popitem()
            if not future.done():
                future.set_exception(ChannelClosed("the other process is gone"))

    def close(self) -> None:
        """End the socket from this side; the reading thread sees it end and cleans up."""
        if self._closed.is_set():
            return
        try:
            sock = socket.socket(fileno=os.dup(self._conn.fileno()))
        except OSError:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            sock.close()
