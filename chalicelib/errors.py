"""One error type, turned into `{"error": {"code", "message"}}` in one place (the middleware)."""

import json
import logging

from chalice import ChaliceUnhandledError, Response

log = logging.getLogger("parley")


class ApiError(ChaliceUnhandledError):
    """An error the client should see: HTTP status, stable snake_case code, human message.

    It derives from ChaliceUnhandledError because that is the one exception Chalice lets
    through its view wrapper to the middleware, where it becomes the JSON response.
    """

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def to_response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.headers)


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body=body, status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


def error_middleware(app):
    """Middleware mapping ApiError to its JSON response and anything unexpected to a 500.

    Chalice's own 4xx (415, 405, ...) are rewritten into the same JSON shape so clients
    only ever parse one error format; a 405 lists the allowed methods (RFC 9110). Errors
    carry the route's CORS headers like successes do (Chalice adds them only to responses
    a view returns): the deployed site calls the API cross-origin, and a browser hides an
    error without them, so the page could not tell a wrong passcode from a network failure.
    """

    def middleware(event, get_response):
        try:
            response = get_response(event)
        except ApiError as err:
            response = err.to_response()
        except Exception:
            log.exception("unhandled error")
            response = error_response(500, "internal_error", "Something went wrong on our side.")
        response = _normalise_chalice_error(response)
        methods = app.routes.get((event.context or {}).get("resourcePath"), {})
        if response.status_code == 405:
            response.headers["Allow"] = ", ".join(sorted(set(methods) | {"OPTIONS"}))
        if response.status_code >= 400:
            _add_cors_headers(response, methods.get(event.method) or next(iter(methods.values()),
                                                                          None))
        return response

    return middleware


def _add_cors_headers(response: Response, route) -> None:
    cors = getattr(route, "cors", None)
    if cors is None:
        return
    for name, value in cors.get_access_control_headers().items():
        response.headers.setdefault(name, value)


_CHALICE_CODES = {
    "BadRequestError": (400, "invalid_request"),
    "UnauthorizedError": (401, "token_missing"),
    "ForbiddenError": (403, "forbidden"),
    "NotFoundError": (404, "not_found"),
    "MethodNotAllowedError": (405, "method_not_allowed"),
    "RequestTimeoutError": (408, "request_timeout"),
    "ConflictError": (409, "conflict"),
    "UnprocessableEntityError": (422, "invalid_request"),
    "TooManyRequestsError": (429, "too_many_requests"),
    "UnsupportedMediaType": (415, "unsupported_media_type"),
    "ChaliceViewError": (500, "internal_error"),
    "InternalServerError": (500, "internal_error"),
}


def _normalise_chalice_error(response: Response) -> Response:
    if response.status_code < 400 or not isinstance(response.body, dict):
        return response
    code = response.body.get("Code")
    if code not in _CHALICE_CODES:
        return response
    status, our_code = _CHALICE_CODES[code]
    message = response.body.get("Message") or code
    if status == 500:
        message = "Something went wrong on our side."
    return error_response(response.status_code, our_code, message)
