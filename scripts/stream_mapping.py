"""Changing a Lambda event source mapping safely.

After a create or an update, Lambda reports the mapping Creating or Updating for a while
(seconds to minutes) and answers ResourceInUseException to any other change meanwhile.
chalice updates the stream's mapping on every deploy, so the deploy's own update comes
right after one of chalice's: it waits until the mapping has settled, and retries the
error with backoff in case another change starts in between (chalice retries it too).
"""

import time
from collections.abc import Callable, Iterator

from botocore.exceptions import ClientError

TRANSITIONAL = frozenset({"Creating", "Enabling", "Disabling", "Updating"})
GONE = "Deleting"  # on its way out: no longer changes, disappears by itself
WAIT_LIMIT = 600.0  # seconds; AWS usually settles a stream mapping within a minute or two
BACKOFF = (1.0, 2.0, 4.0, 8.0)  # then every 15 s until the limit
LONGEST_PAUSE = 15.0

Sleep = Callable[[float], None]


class MappingBusy(RuntimeError):
    """The mapping did not settle within the wait limit."""


def pauses(limit: float = WAIT_LIMIT) -> Iterator[float]:
    """Backoff pauses whose sum stays within `limit` seconds."""
    waited = 0.0
    step = 0
    while True:
        pause = BACKOFF[step] if step < len(BACKOFF) else LONGEST_PAUSE
        pause = min(pause, limit - waited)
        if pause <= 0:
            return
        yield pause
        waited += pause
        step += 1


def settled(lambda_client, uuid: str, sleep: Sleep = time.sleep,
            limit: float = WAIT_LIMIT) -> dict:
    """The mapping's configuration once its State is no longer transitional (Enabled,
    Disabled, or Deleting). Raises MappingBusy after `limit` seconds."""
    backoff = pauses(limit)
    while True:
        current = lambda_client.get_event_source_mapping(UUID=uuid)
        state = current.get("State")
        if state not in TRANSITIONAL:
            return current
        pause = next(backoff, None)
        if pause is None:
            raise MappingBusy(f"event source mapping {uuid} is still {state} after "
                              f"{limit:g} s; run make deploy again later")
        sleep(pause)


def _code(err: ClientError) -> str:
    return err.response["Error"]["Code"]


def in_place(current, wanted) -> bool:
    """Whether a setting read back from Lambda is the one wanted. Nested values such as
    DestinationConfig are compared whole, except that Lambda may report an unset part
    (`"OnSuccess": {}`) the deploy never sends."""
    if isinstance(wanted, dict):
        if not isinstance(current, dict):
            return False
        extra = set(current) - set(wanted)
        return (all(in_place(current.get(key), value) for key, value in wanted.items())
                and all(current[key] in ({}, None) for key in extra))
    return current == wanted


def update(lambda_client, uuid: str, settings: dict, sleep: Sleep = time.sleep,
           limit: float = WAIT_LIMIT) -> dict:
    """Apply `settings` once the mapping has settled; return its settled configuration.

    Settings already in place are not sent again (each update puts the mapping back into
    Updating for a while).
    """
    backoff = pauses(limit)
    while True:
        current = settled(lambda_client, uuid, sleep, limit)
        if current.get("State") == GONE:
            raise MappingBusy(f"event source mapping {uuid} is being deleted")
        if all(in_place(current.get(key), value) for key, value in settings.items()):
            return current
        try:
            lambda_client.update_event_source_mapping(UUID=uuid, **settings)
        except ClientError as err:
            pause = next(backoff, None)
            if _code(err) != "ResourceInUseException" or pause is None:
                raise
            sleep(pause)
            continue
        return settled(lambda_client, uuid, sleep, limit)


def delete(lambda_client, uuid: str, sleep: Sleep = time.sleep,
           limit: float = WAIT_LIMIT) -> bool:
    """Delete the mapping once it has settled; False when it was gone already."""
    backoff = pauses(limit)
    while True:
        try:
            lambda_client.delete_event_source_mapping(UUID=uuid)
            return True
        except ClientError as err:
            if _code(err) == "ResourceNotFoundException":
                return False
            pause = next(backoff, None)
            if _code(err) != "ResourceInUseException" or pause is None:
                raise
            sleep(pause)
        try:
            if settled(lambda_client, uuid, sleep, limit).get("State") == GONE:
                return True
        except ClientError as err:
            if _code(err) == "ResourceNotFoundException":
                return True
            raise
