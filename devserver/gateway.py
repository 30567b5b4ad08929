"""REST under /api: each request goes to the Chalice app through `chalice.local.LocalGateway`,
the same request -> Lambda event -> response translation `chalice local` uses.

Requests run one at a time on a dedicated thread: the Chalice app keeps the request being
handled in `app.current_request`, a single attribute, so two concurrent requests in one
process would read each other's. (Lambda gives each concurrent request its own copy of
the app; here the embedded DynamoDB applies one request at a time anyway.)

Two differences from plain `chalice local`, both towards API Gateway: path parameters are
percent-decoded (API Gateway hands the function `a/b` for `a%2Fb`), and the event carries
the caller's address, which the app's per-address rate limits use. One difference from
API Gateway: a path with no route answers 404 in the app's error shape
(`{"error": {"code": "not_found"}}`) instead of API Gateway's 403 "Missing Authentication
Token", and a body over 1 MB (which the app never sees) 413 `payload_too_large` instead of
API Gateway's 413 "Request Too Long", so clients of the local stack only ever parse one
error format.
"""

import asyncio
import base64
import logging
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

from aiohttp import web
from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException, MatchResult, RouteMatcher
from multidict import CIMultiDict

log = logging.getLogger("http")
PREFIX = "/api"
_DROP = {"content-length", "transfer-encoding", "connection"}


class ChaliceRest:
    """`call(method, path, headers, body, source_ip)`: one request through the Chalice app
    -> its API Gateway response dict; raises LocalGatewayException when no route matches.
    One call at a time (see the module's docstring), in this process or a worker's."""

    def __init__(self, app):
        config = Config.create(chalice_stage="dev", app_name=app.app_name)
        self._gateway = LocalGateway(app, config)
        self._gateway.event_converter._route_matcher = _DecodingRouteMatcher(list(app.routes))

    def __call__(self, method, path, headers, body, source_ip):
        # LocalGateway always reports 127.0.0.1; API Gateway reports the caller, and the
        # app's per-address rate limits depend on it. Safe: one request at a time.
        self._gateway.event_converter.LOCAL_SOURCE_IP = source_ip
        return self._gateway.handle_request(method, path, headers, body)


class RestGateway:
    def __init__(self, app, after_request, call=None, threads: int = 1):
        """`after_request()` runs after every request (it wakes the stream poller); `call`:
        where requests go (default: the app in this process, `ChaliceRest`), from
        `threads` threads at once (one for this process: see the module's docstring)."""
        self._call = call or ChaliceRest(app)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rest")
        self._after_request = after_request

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", PREFIX, self.handle)
        router.add_route("*", PREFIX + r"/{tail:[\s\S]*}", self.handle)  # any char, even \n

    async def handle(self, request: web.Request) -> web.Response:
        raw = request.rel_url.raw_path  # still percent-encoded: see _DecodingRouteMatcher
        if raw == PREFIX or raw.startswith(PREFIX + "/"):
            path = raw[len(PREFIX):] or "/"
        else:  # the prefix itself was percent-encoded
            path = "/" + request.match_info.get("tail", "")
        if request.rel_url.raw_query_string:
            path += "?" + request.rel_url.raw_query_string
        headers = dict(request.headers)
        headers["X-Forwarded-For"] = request.remote or "127.0.0.1"
        try:
            body = await request.read() or None
        except web.HTTPRequestEntityTooLarge:  # over aiohttp's 1 MB: answer in the app's shape
            self._after_request()
            return web.json_response(
                {"error": {"code": "payload_too_large", "message": "Request body is too large."}},
                status=413)
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, self._call, request.method, path,
                                                headers, body, request.remote or "127.0.0.1")
            response = _to_response(result)
        except LocalGatewayException:  # no route matches (the app has no authorizers)
            response = web.json_response(
                {"error": {"code": "not_found", "message": "There is no such API endpoint."}},
                status=404)
        except Exception:  # the function itself crashed: API Gateway answers 502
            log.exception("%s %s crashed", request.method, request.path)
            response = web.json_response({"message": "Internal server error"}, status=502)
        finally:
            self._after_request()
        return response

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class _DecodingRouteMatcher(RouteMatcher):
    """Matches the raw path segment by segment, then decodes each captured value."""

    def match_route(self, url: str) -> MatchResult:
        match = super().match_route(url)
        return match._replace(captured={k: unquote(v) for k, v in match.captured.items()})


def _to_response(result: dict) -> web.Response:
    headers = CIMultiDict()
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in _DROP:
            headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if name.lower() not in _DROP:
            headers.popall(name, None)
            for value in values:
                headers.add(name, str(value))
    body = result.get("body")
    if body is not None:
        if result.get("isBase64Encoded"):
            body = base64.b64decode(body)
        body = body.encode() if isinstance(body, str) else body
        headers.setdefault("Content-Type", "application/json")
    return web.Response(status=result["statusCode"], headers=headers, body=body)
