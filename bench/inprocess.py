"""The app in this process against the embedded DynamoDB, for benchmarks that count calls."""

import atexit
import os

from devserver.launch import UNLIMITED, free_port

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
    os.environ.update({
        "PARLEY_DYNAMODB_ENDPOINT": f"http://127.0.0.1:{port}",
        "PARLEY_TABLE": "parley-bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "PARLEY_JWT_SECRET": "bench-secret-that-is-long-enough-for-hs256",
        "PARLEY_RATE_LIMITS": UNLIMITED,
    })
    from devserver.embedded_dynamodb import EmbeddedDynamoDB

    server = EmbeddedDynamoDB(port=port)
    server.start()
    from chalicelib import models

    models.create_table()
    import app

    atexit.register(server.stop)
    _BOOTED.append((app, _KeepRunning(server)))
    return _BOOTED[0]
