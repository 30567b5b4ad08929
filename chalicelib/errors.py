"""One error type, turned into `{"error": {"code", "message"}}` in one place (the middleware)."""

import json
import logging

from chalice import ChaliceUnhandledError, Response

log = logging.getLogger("parley")


class ApiError(ChaliceUnhandledError):
    """An error the client should see: HTTP status, stable snake_case code, human message.

    Every error is a named subclass below, so a code and its status are written once.
    It derives from ChaliceUnhandledError because that is the one exception Chalice lets
    through its view wrapper to the middleware, where it becomes the JSON response.
    """

    status = 500
    code = "internal_error"
    message = "Something went wrong on our side."

    def __init__(self, message: str | None = None, headers: dict | None = None,
                 details: dict | None = None):
        self.message = message or type(self).message
        super().__init__(self.message)
        self.headers = headers or {}
        self.details = details or {}  # more fields of the error object (after code, message)

    def to_response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.headers, self.details)

    def to_event(self, **extra) -> dict:
        """The same error as a WebSocket frame; Retry-After becomes `retryAfter` seconds."""
        event = {"event": "error", **extra,
                 "error": {"code": self.code, "message": self.message, **self.details}}
        if "Retry-After" in self.headers:
            event["retryAfter"] = int(self.headers["Retry-After"])
        return event


class _RetryLater(ApiError):
    """An error with Retry-After; `message` has a `{seconds}` slot."""

    def __init__(self, seconds: int):
        super().__init__(self.message.format(seconds=seconds),
                         headers={"Retry-After": str(seconds)})


class InvalidRequest(ApiError):
    status, code, message = 400, "invalid_request", "The request is not valid."


class TokenMissing(ApiError):
    status, code = 401, "token_missing"
    message = "Sign in to the meeting first (missing token)."


class TokenExpired(ApiError):
    status, code, message = 401, "token_expired", "Your session has expired; join again."


class TokenInvalid(ApiError):
    status, code, message = 401, "token_invalid", "Your session token is not valid."


class PasscodeRequired(ApiError):
    status, code, message = 401, "passcode_required", "This meeting needs a passcode."


class PasscodeMismatch(ApiError):
    status, code, message = 403, "passcode_mismatch", "That passcode is not right."


class HostKeyMismatch(ApiError):
    status, code, message = 403, "host_key_mismatch", "The host key is not right."


class NotHost(ApiError):
    status, code, message = 403, "not_host", "Only the host can do that."


class InvalidCallbackUrl(ApiError):
    status, code = 400, "invalid_callback_url"
    message = "The callback URL is not an http or https URL this server may call."


class InvalidSourceUrl(ApiError):
    status, code = 400, "invalid_source_url"
    message = "The source URL is not an http, https, rtmp or rtmps URL this server may read."


class UnsupportedMediaType(ApiError):
    status, code = 400, "unsupported_media_type"
    message = "That kind of file cannot be played into a meeting."


class UploadNotFound(ApiError):
    status, code = 400, "upload_not_found"
    message = "There is no such uploaded file in this meeting (or it was never stored)."


class InvalidBotToken(ApiError):
    status, code = 403, "invalid_bot_token"
    message = ("This bot invitation is not valid (wrong meeting, expired, or its recording or "
               "stream is over).")


class NotRecordingBot(ApiError):
    status, code = 403, "not_recording_bot"
    message = "Only the recording's own bot can do that."


class NotStreamBot(ApiError):
    status, code = 403, "not_stream_bot"
    message = "Only the stream's own bot can do that."


class ParticipantGone(ApiError):
    status, code, message = 403, "participant_gone", "You are no longer in this meeting."


class ParticipantWaiting(ApiError):
    status, code = 403, "participant_waiting"
    message = "You are in the lobby: wait until a host lets you in."


class WrongMeeting(ApiError):
    status, code = 403, "wrong_meeting"
    message = "This session belongs to another meeting."


class MeetingNotFound(ApiError):
    status, code, message = 404, "meeting_not_found", "There is no meeting with this link."


class ParticipantNotFound(ApiError):
    status, code = 404, "participant_not_found"
    message = "That participant is not in the meeting."


class PollNotFound(ApiError):
    status, code, message = 404, "poll_not_found", "There is no such poll in this meeting."


class RecordingNotFound(ApiError):
    status, code = 404, "recording_not_found"
    message = "There is no such recording in this meeting."


class StreamNotFound(ApiError):
    status, code = 404, "stream_not_found"
    message = "There is no such stream in this meeting."


class AlreadyVoted(ApiError):
    status, code, message = 409, "already_voted", "You have already voted in this poll."


class PollClosed(ApiError):
    status, code, message = 409, "poll_closed", "This poll is closed."


class MeetingFull(ApiError):
    status, code, message = 409, "meeting_full", "This meeting is full."


class NotWaiting(ApiError):
    status, code = 409, "not_waiting"
    message = "That participant is not in the lobby (already admitted, denied or gone)."


class RecordingActive(ApiError):
    status, code = 409, "recording_active"
    message = "This meeting is already being recorded; stop that recording first."


class StreamActive(ApiError):
    status, code = 409, "stream_active"
    message = "Media is already playing in this meeting; stop it first."


class NotSeekable(ApiError):
    status, code = 409, "not_seekable"
    message = "A live stream cannot be paused or moved to another position."


class InvalidTransition(ApiError):
    status, code = 409, "invalid_transition"
    message = "It cannot change to that state from the one it is in."


class TooManyBots(ApiError):
    status, code, message = 409, "too_many_bots", "This meeting has as many bots as it may."


class MeetingNotStarted(ApiError):
    """A join before the meeting's scheduled start; the error object carries `startsAt`."""

    status, code = 409, "meeting_not_started"

    def __init__(self, starts_at: str):
        super().__init__(f"This meeting has not started yet; it starts at {starts_at}.",
                         details={"startsAt": starts_at})


class MeetingEnded(ApiError):
    status, code, message = 410, "meeting_ended", "This meeting has ended."


class PayloadTooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "Request body is too large."


class UploadTooLarge(ApiError):
    status, code = 413, "upload_too_large"
    message = "That file is larger than this server accepts."


class MeetingLocked(ApiError):
    status, code, message = 423, "meeting_locked", "The host has locked this meeting."


class TooManyAttempts(_RetryLater):
    status, code = 429, "too_many_attempts"
    message = "Too many wrong passcodes. Try again in {seconds} seconds."


class RateLimited(_RetryLater):
    status, code, message = 429, "rate_limited", "Too many requests; try again in {seconds} seconds."


class RecordingUnavailable(ApiError):
    status, code = 503, "recording_unavailable"
    message = "Recording is not available on this server right now."


class StreamingUnavailable(ApiError):
    status, code = 503, "streaming_unavailable"
    message = "Playing media into a meeting is not available on this server right now."


class TryAgain(ApiError):
    status, code, message = 503, "try_again", "That did not work this time; please retry."


def error_response(status: int, code: str, message: str, headers: dict | None = None,
                   details: dict | None = None) -> Response:
    body = json.dumps({"error": {"code": code, "message": message, **(details or {})}})
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
            response = ApiError().to_response()
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
        message = ApiError.message
    return error_response(response.status_code, our_code, message)
