"""Backoff between attempts at something that may fail for a while (S3, a callback)."""

import random


def delays(attempts: int, first: float, cap: float):
    """The waits between `attempts` tries: exponential from `first`, capped at `cap`, each
    with up to half of it taken off at random so many bots do not retry in step."""
    for n in range(attempts - 1):
        delay = min(cap, first * 2 ** n)
        yield delay * (1 - random.random() / 2)
