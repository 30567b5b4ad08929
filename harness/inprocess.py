"""The app in the calling process against the embedded DynamoDB (moto) on a loopback port:
for unit tests and for benchmarks that count DynamoDB calls.

The PynamoDB models bind to the table and endpoint when chalicelib is first imported, so
`use_embedded_store` must run before that; the server itself may start later.
"""

import os

from .stack import UNLIMITED


def use_embedded_store(port: int, table: str, secret: str) -> str:
    """Point the app's settings at a store on `port` (this process's environment); returns
    its endpoint. Every in-process request comes from one address: no rate limit applies."""
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update({
        "PARLEY_DYNAMODB_ENDPOINT": endpoint,
        "PARLEY_TABLE": table,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "PARLEY_JWT_SECRET": secret,
        "PARLEY_RATE_LIMITS": UNLIMITED,
    })
    for name in ("PARLEY_JWT_SECRET_PARAM", "PARLEY_WS_API_ID", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE"):
        os.environ.pop(name, None)
    return endpoint


def start_store(port: int):
    """Start the embedded DynamoDB on `port` and create the app's table; returns the server
    (call `.stop()` when done)."""
    from devserver.embedded_dynamodb import EmbeddedDynamoDB

    server = EmbeddedDynamoDB(port=port)
    server.start()
    from chalicelib import models

    models.create_table()
    return server
