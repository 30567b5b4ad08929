"""The app in this process against the embedded DynamoDB, for benchmarks that count calls."""

import atexit

from harness.inprocess import start_store, use_embedded_store
from harness.stack import free_port

_BOOTED = []


class _KeepRunning:
    """The models bind to the first endpoint when imported, so one server serves every
    benchmark of the process; it stops when the process exits."""

    def __init__(self, server):
        self.server = server

    def stop(self) -> None:
        pass


def boot():
    """Start the embedded DynamoDB, point the app at it, create the table; returns the app module."""
    if _BOOTED:
        return _BOOTED[0]
    port = free_port()
    use_embedded_store(port, "parley-bench", "bench-secret-that-is-long-enough-for-hs256")
    server = start_store(port)
    import app

    atexit.register(server.stop)
    _BOOTED.append((app, _KeepRunning(server)))
    return _BOOTED[0]
