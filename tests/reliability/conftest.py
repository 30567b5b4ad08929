"""Helpers for the reliability tests: requests from a chosen loopback address, a look straight
into a stack's table (to prove a refused request stored nothing), and a second stack with
small rate limits and a configured CORS origin."""

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from harness.stack import running_stack
from tests.api.stack_client import TIMEOUT
from tests.fixtures.table import Store

SITE_ORIGIN = "https://parley.example"
# Small buckets that refill slowly enough (one token per 1000 s) that no test run outlasts
# them: every refusal below is deterministic. Creating meetings stays unlimited.
STRICT_LIMITS = "create=1e9/1e9,join=3/0.001,ticket=5/0.001,message=3/0.001,reaction=3/0.001"


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    @property
    def error_code(self) -> str | None:
        """The `code` of the app's error shape; fails the test if the body has another shape."""
        body = self.json
        assert isinstance(body, dict) and set(body) == {"error"}, self.body[:300]
        assert set(body["error"]) == {"code", "message"}, body
        assert body["error"]["message"], body
        return body["error"]["code"]


def request(url: str, method: str = "GET", body=None, headers: dict | None = None,
            token: str | None = None, source: str = "127.0.0.1") -> Reply:
    """One HTTP request from loopback address `source` (127.0.0.0/8 is all this machine's),
    so per-address limits can be told apart; `body` is bytes as is, anything else as JSON."""
    parts = urlsplit(url)
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT,
                                      source_address=(source, 0))
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


@pytest.fixture(scope="session")
def store(stack) -> Store:
    return Store(stack)


@pytest.fixture(scope="session")
def limited_stack(tmp_path_factory):
    """A second stack with small, slowly refilling rate limits and a configured site origin."""
    log_path = tmp_path_factory.mktemp("limited-stack") / "devserver.log"
    with running_stack(log_path, PARLEY_RATE_LIMITS=STRICT_LIMITS,
                       PARLEY_ALLOWED_ORIGIN=SITE_ORIGIN) as running:
        yield running
