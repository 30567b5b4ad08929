"""Fixtures shared by the tests against the running local stack."""

import pytest

from .stack_client import Rest, join_all


@pytest.fixture
def room(stack):
    """A host and two guests, each with an open socket that has heard of everyone."""
    rest = Rest(stack.api)
    created = rest.create("Room")
    mid = created["meeting"]["id"]
    host = rest.join(mid, "Hana", hostKey=created["hostKey"])
    people, sockets = {"hana": host}, {"hana": host.connect()}
    try:
        join_all(rest, mid, ("Gus", "Ola"), people, sockets)
        yield list(people.values()), list(sockets.values())
    finally:
        for ws in sockets.values():
            ws.close()
