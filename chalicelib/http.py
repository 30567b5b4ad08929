"""Request body and query parsing that never lets malformed input reach a handler."""

import json

from .errors import InvalidRequest, PayloadTooLarge, TokenMissing

MAX_BODY_BYTES = 64 * 1024


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def json_body(request) -> dict:
    """The request's JSON object, or ApiError 400/413; `{}` for an empty body."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    if not raw.strip():
        return {}
    return json_object(raw)


def json_object(raw: bytes | str) -> dict:
    """A JSON object from a body or a WebSocket frame, or ApiError 400."""
    try:  # UTF-8 only (RFC 8259 8.1; a BOM is tolerated): json.loads(bytes) also takes UTF-16/32
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        body = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as err:
        raise InvalidRequest("Request body is not valid JSON.") from err
    if not isinstance(body, dict):
        raise InvalidRequest("Request body must be a JSON object.")
    try:  # "\ud800" is valid JSON but no valid text: refuse it before it reaches a key
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidRequest("Request body has invalid Unicode.") from err
    return body


def query_params(request) -> dict:
    return dict(request.query_params or {})


def bearer_token(request) -> str:
    header = (request.headers or {}).get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissing()
    return token.strip()
