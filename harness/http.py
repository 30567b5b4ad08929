"""Plain HTTP to the local stack, never through a proxy the environment may name."""

import urllib.error
import urllib.request

TIMEOUT = 20
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url: str, method: str = "GET", body: bytes | None = None,
          headers: dict | None = None, timeout: float = TIMEOUT) -> tuple[int, dict, bytes]:
    """Any HTTP request: status, headers, body (an error status is an answer, not a raise)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310 (http to the local stack)
    try:
        with NO_PROXY.open(request, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()
