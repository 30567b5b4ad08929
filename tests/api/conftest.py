"""Fixtures shared by the tests against the running local stack."""

import pytest

from .stack_client import Rest, joined, updated


@pytest.fixture
def room(stack):
    """A host and two guests, each with an open socket that has heard of everyone."""
    rest = Rest(stack.api)
    created = rest.create("Room")
    mid = created["meeting"]["id"]
    host = rest.join(mid, "Hana", hostKey=created["hostKey"])
    people, sockets = [host], [host.connect()]
    try:
        for name in ("Gus", "Ola"):
            newcomer = rest.join(mid, name)
            for ws in sockets:
                ws.wait_for(joined(newcomer.pid))
            people.append(newcomer)
            sockets.append(newcomer.connect())
            for ws in sockets[:-1]:
                ws.wait_for(updated(newcomer.pid, connected=True))
        yield people, sockets
    finally:
        for ws in sockets:
            ws.close()
