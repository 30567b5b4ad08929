"""JSON Schemas of every request body and query, compiled once; the OpenAPI document
reuses them. Handlers read a request through `body_of` / `query_of` after they have
authenticated it, so a request without a valid token gets 401 whatever its body."""

import fastjsonschema

from .errors import InvalidRequest
from .http import json_body, query_params
from .ids import ID_PATTERN
from .models import (
    MAX_POLL_OPTIONS,
    PARTICIPANT_VIEW,
    POLL_RESULTS,
    REACTION_EMOJI,
    RECORDING_MODES,
    SETTABLE,
    STREAM_MODES,
)

# Printable text: no control characters (tabs/newlines are allowed only in chat text).
# Printable text with at least one visible character; chat text may also hold tabs and
# line breaks. (Lone UTF-16 surrogates are refused when the body is parsed, http.py.)
# "Visible" also rules out Unicode white space (`\s`: U+00A0, U+2003, U+3000, ...), which
# `str.strip()` removes: a name of only such spaces would otherwise be stored empty.
_NAME_CHAR = r"[^\x00-\x1f\x7f]"
_TEXT_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_VISIBLE = r"[^\s\x00-\x20\x7f]"
NAME_PATTERN = f"^{_NAME_CHAR}*{_VISIBLE}{_NAME_CHAR}*$"
TEXT_PATTERN = f"^{_TEXT_CHAR}*{_VISIBLE}{_TEXT_CHAR}*$"
MAX_TICKET_DATA = 16 * 1024
MESH_MAX = 8
MESH_DEFAULT = 6


def _name(max_length: int) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": NAME_PATTERN}


# An email address as far as a form can tell: local@domain.tld, no spaces or controls.
EMAIL = {"type": "string", "minLength": 6, "maxLength": 254,
         "pattern": r"^[^@\s\x00-\x1f\x7f]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$"}

PASSCODE = {"type": "string", "minLength": 4, "maxLength": 64, "pattern": NAME_PATTERN}

CREATE_MEETING = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": _name(80),
        "passcode": PASSCODE,
        "maxParticipants": {"type": "integer", "minimum": 2, "maximum": MESH_MAX},
        # guests wait in the lobby until a moderator admits them
        "lobby": {"type": "boolean"},
        # a scheduled start: ISO 8601 with a timezone, in the future, at most a year ahead
        # (the format is checked by meetings.starts_at with the rest: FORMATS below)
        "startsAt": {"type": "string", "format": "date-time", "minLength": 1, "maxLength": 64,
                     "description": "ISO 8601 date and time with a timezone, in the future, "
                                    "at most a year ahead"},
        # where the poll report is emailed when the meeting ends; stored, never shown
        "reportEmail": EMAIL,
    },
}

JOIN_MEETING = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": _name(40),
        "passcode": {"type": "string", "maxLength": 64},
        "hostKey": {"type": "string", "minLength": 1, "maxLength": 64},
        # a bot's invitation (issued by the server when it starts the bot); with it the
        # join skips lobby, passcode, lock and scheduled start (bot_access.join)
        "botToken": {"type": "string", "minLength": 1, "maxLength": 4096},
    },
    # a bot joins with its invitation alone: no host key, no passcode beside it
    "not": {"required": ["botToken"], "anyOf": [{"required": ["hostKey"]},
                                                {"required": ["passcode"]}]},
}

SESSION_DESCRIPTION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {"enum": ["offer", "answer", "pranswer", "rollback"]},
        "sdp": {"type": "string"},
        # which of the SDP's streams (its msid) is the sender's screen share, if any
        "screen": {"type": "string", "minLength": 1, "maxLength": 64},
    },
}

ICE_CANDIDATE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "candidate": {"type": "string"},
        "sdpMid": {"type": ["string", "null"]},
        "sdpMLineIndex": {"type": ["integer", "null"], "minimum": 0, "maximum": 65535},
        "usernameFragment": {"type": ["string", "null"]},
    },
}

# What a ticket carries: a peer connection's description or candidates, a goodbye, or how the
# sender shows the recipient's video (`view`), so the recipient can shape what it sends them.
TICKET_KINDS = ("description", "candidates", "bye", "view")

# How big a receiver shows a sender's camera: the main view, a large tile, a thumbnail, or not
# at all (off-screen, tab hidden). The sender picks resolution, frame rate and bitrate from it.
TILE_VIEWS = ("main", "large", "thumbnail", "hidden")
TILE_VIEW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["view"],
    "properties": {"view": {"enum": list(TILE_VIEWS)}},
}

# A sender's idempotency key for one ticket: a retry with the same key gets the ticket
# the first try stored. Length first, so an over-long key is told so, not "not allowed".
TICKET_KEY = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[A-Za-z0-9_-]+$"}

POST_TICKET = {
    "type": "object",
    "additionalProperties": False,
    "required": ["to", "kind"],
    "properties": {
        "to": {"type": "string", "pattern": ID_PATTERN},
        "kind": {"enum": list(TICKET_KINDS)},
        "data": {},
        "key": TICKET_KEY,
    },
    "allOf": [
        {"if": {"properties": {"kind": {"const": "description"}}},
         "then": {"required": ["data"], "properties": {"data": SESSION_DESCRIPTION}}},
        {"if": {"properties": {"kind": {"const": "candidates"}}},
         "then": {"required": ["data"], "properties": {
             "data": {"type": "array", "minItems": 1, "maxItems": 100, "items": ICE_CANDIDATE}}}},
        {"if": {"properties": {"kind": {"const": "bye"}}},
         "then": {"properties": {"data": {"type": "null"}}}},
        {"if": {"properties": {"kind": {"const": "view"}}},
         "then": {"required": ["data"], "properties": {"data": TILE_VIEW}}},
    ],
}

# The same ticket sent over the open WebSocket: `{"action": "ticket", to, kind, data, key}`.
SOCKET_TICKET = {
    **POST_TICKET,
    "required": ["action", *POST_TICKET["required"]],
    "properties": {"action": {"const": "ticket"}, **POST_TICKET["properties"]},
}

UPDATE_ME = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {name: PARTICIPANT_VIEW[name].schema for name in SETTABLE},
}

# A moderator's change to someone else (PATCH .../participants/{pid}): lower their hand,
# ask their page to turn the camera off; a host's: give them a role (host hands it over).
UPDATE_PARTICIPANT = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {"hand": {"const": False}, "video": {"const": False},
                   "role": {"enum": ["host", "cohost", "guest"]}},
}

POST_MESSAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["text"],
    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 2000,
                            "pattern": TEXT_PATTERN},
                   # a direct message: only this participant and the sender see it
                   # (null, like leaving it out: a message to everyone)
                   "to": {"type": ["string", "null"], "pattern": ID_PATTERN}},
}

POST_REACTION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["emoji"],
    "properties": {"emoji": {"enum": list(REACTION_EMOJI)}},
}

UPDATE_MEETING = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {"locked": {"type": "boolean"}, "lobby": {"type": "boolean"}},
}

CREATE_POLL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["question", "options"],
    "properties": {
        "question": _name(300),
        # distinct once trimmed: checked by the handler (polls.create)
        "options": {"type": "array", "minItems": 2, "maxItems": MAX_POLL_OPTIONS,
                    "uniqueItems": True, "items": _name(100)},
        "multiple": {"type": "boolean"},
        "anonymous": {"type": "boolean"},
        "results": {"enum": list(POLL_RESULTS)},
    },
}

VOTE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["options"],
    "properties": {"options": {"type": "array", "minItems": 1, "maxItems": MAX_POLL_OPTIONS,
                               "uniqueItems": True,
                               "items": {"type": "string", "pattern": r"^o[0-9]$"}}},
}

REPORT_QUERY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"format": {"enum": ["json", "csv"]}},
}

START_RECORDING = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "mode": {"enum": list(RECORDING_MODES)},  # default audio
        "reserve": {"type": "boolean"},  # default true: a leaver keeps their place
        # where the bot POSTs the result; http(s) to a public address (callbacks.check)
        "callbackUrl": {"type": "string", "minLength": 1, "maxLength": 2048},
    },
}

# A file the bot stored: its name, its S3 key (under recordings/<mid>/<rid>/), and how
# the upload went (status 0: stored; otherwise a code and a message).
RECORDING_FILE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["file", "key", "status"],
    "properties": {
        "file": {"type": "string", "minLength": 1, "maxLength": 255,
                 "pattern": r"^[^/\\\x00-\x1f\x7f]+$"},
        "key": {"type": "string", "minLength": 1, "maxLength": 1024,
                "pattern": r"^[^\x00-\x1f\x7f]+$"},
        "status": {"type": "integer", "minimum": 0, "maximum": 65535},
        "message": {"type": "string", "maxLength": 2000},
        "size": {"type": "integer", "minimum": 0},
    },
}

# The recording's own bot reports: a state it reached (never `stopping`: that is the
# server's), its files, an error.
UPDATE_RECORDING = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "state": {"enum": ["recording", "uploading", "done", "failed"]},
        "files": {"type": "array", "maxItems": 10, "items": RECORDING_FILE},
        "error": {"type": "string", "maxLength": 2000},
    },
}

# A file to upload for a stream (the content type is checked by the handler, so that an
# unknown one gets its own code: unsupported_media_type).
CREATE_UPLOAD = {
    "type": "object",
    "additionalProperties": False,
    "required": ["fileName", "contentType", "size"],
    "properties": {
        "fileName": _name(200),
        "contentType": {"type": "string", "minLength": 1, "maxLength": 100},
        "size": {"type": "integer", "minimum": 1},  # bytes; over the limit: 413
    },
}

# Seconds into a file: at most about four months (no film is longer).
POSITION = {"type": "number", "minimum": 0, "maximum": 10_000_000}

START_STREAM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["source"],
    "properties": {
        # "upload:<id>" (a file uploaded to this meeting), or an http(s)/rtmp(s) URL
        "source": {"type": "string", "minLength": 1, "maxLength": 2048},
        "mode": {"enum": list(STREAM_MODES)},  # default file
        "loop": {"type": "boolean"},  # default false; file mode: start again at the end
        "resume": {"type": "boolean"},  # default true: go on from where it was stopped
        "title": _name(40),  # the tile's name; default: the file's name
    },
}

# A moderator's request to the stream's bot; `position` (seconds) with seek, and only then.
STREAM_ACTION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["action"],
    "properties": {"action": {"enum": ["pause", "resume", "seek", "stop"]},
                   "position": POSITION},
    "if": {"properties": {"action": {"const": "seek"}}},
    "then": {"required": ["position"]},
    "else": {"not": {"required": ["position"]}},
}

# The stream's own bot reports: a state it reached (never `stopping`: that is the
# server's), where it is (every few seconds), the length once known, an error.
STREAM_REPORT = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "state": {"enum": ["playing", "paused", "ended", "failed"]},
        "position": POSITION,
        "duration": {"type": ["number", "null"], "minimum": 0, "maximum": 10_000_000},
        "error": {"type": "string", "maxLength": 500},
    },
}

_CURSOR = {"type": "string", "pattern": r"^[0-9A-Za-z]{1,32}$"}

AFTER_QUERY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"after": _CURSOR},
}

# Chat history: newer than `after`, or older than `before` (not both; checked by the handler,
# so that the message says so).
HISTORY_QUERY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"after": _CURSOR, "before": _CURSOR},
}

_compiled: dict = {}
# Formats a handler checks itself, so that its message can say all that is wrong at once
# (startsAt: also that it must lie ahead); the schema states them for the OpenAPI document.
FORMATS = {"date-time": lambda value: True}


def validate(schema: dict, value):
    """Return `value` if it matches `schema`, else ApiError 400 naming the first problem."""
    key = id(schema)
    if key not in _compiled:
        _compiled[key] = fastjsonschema.compile(schema, formats=FORMATS)
    try:
        return _compiled[key](value)
    except fastjsonschema.JsonSchemaException as err:
        name = err.name or "data"
        field = "body" if name == "data" else name.replace("data.", "", 1)
        raise InvalidRequest(f"Invalid request: {field} {_why(err)}.") from err


def body_of(request, schema: dict) -> dict:
    """The request's JSON body, valid against `schema` (400/413 otherwise)."""
    return validate(schema, json_body(request))


def query_of(request, schema: dict) -> dict:
    return validate(schema, query_params(request))


def _why(err) -> str:
    rule = err.rule
    if rule == "additionalProperties":
        return "has unknown fields"
    if rule == "required":
        return "is missing a required field"
    if rule in ("maxLength", "maxItems", "maximum"):
        return "is too long or too large"
    if rule in ("minLength", "minItems", "minimum", "minProperties"):
        return "is too short, too small or empty"
    if rule == "pattern":
        return "contains characters that are not allowed or is blank"
    if rule == "not":
        return "combines fields that cannot go together (a bot's botToken goes alone)"
    if rule in ("type", "enum", "const"):
        return "has the wrong type or value"
    if rule == "not":
        return "has a field that is not allowed here"
    return "is not valid"
