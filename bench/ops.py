"""Counts the billable operations a flow causes: DynamoDB units, REST calls, Lambda runs,
WebSocket frames. Hooks botocore's event system, so it counts what the real code sends."""

import json
import math
from collections import Counter

WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem"}
READ_OPS = {"GetItem", "Query", "Scan"}


def _item_bytes(item: dict) -> int:
    """DynamoDB's item size: attribute names plus values (close enough for small items)."""
    return sum(len(name) + len(json.dumps(value)) for name, value in item.items())


class OpCounter:
    """Attach to a boto3/botocore client: counts calls and request units per operation."""

    def __init__(self):
        self.calls = Counter()
        self.wru = 0.0
        self.rru = 0.0

    def attach(self, client) -> None:
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def _before(self, model, params, **_):
        op = model.name
        params = json.loads(params["body"] or b"{}")
        self.calls[op] += 1
        if op == "PutItem":
            self.wru += math.ceil(_item_bytes(params["Item"]) / 1024)
        elif op in ("UpdateItem", "DeleteItem"):
            self.wru += 1  # participants, meetings and counters stay well under 1 KB
        elif op == "TransactWriteItems":
            for entry in params["TransactItems"]:
                item = entry.get("Put", {}).get("Item")
                self.wru += 2 * (math.ceil(_item_bytes(item) / 1024) if item else 1)
        elif op == "BatchWriteItem":
            self.wru += sum(len(reqs) for reqs in params["RequestItems"].values())

    def _after(self, model, parsed, **_):
        op = model.name
        if op == "GetItem":
            self.rru += 1
        elif op in ("Query", "Scan"):
            size = sum(_item_bytes(i) for i in parsed.get("Items", []))
            self.rru += max(1, math.ceil(size / 4096))

    def snapshot(self) -> dict:
        return {"calls": dict(self.calls), "wru": self.wru, "rru": self.rru}

    def reset(self) -> None:
        self.calls.clear()
        self.wru = self.rru = 0.0
