"""The OpenAPI 3.1 description of the REST API, built from the same request schemas the
handlers validate with, so the document cannot drift from the implementation."""

from . import schemas
from .models import (
    ID_SCHEMA,
    MEETING_VIEW,
    PARTICIPANT_VIEW,
    REACTION_EMOJI,
    RECORDING_MODES,
    RECORDING_STATES,
    STREAM_MODES,
    STREAM_STATES,
)

_ID = ID_SCHEMA
_TIME = {"type": "string", "format": "date-time"}
_ID_OR_NULL = {**_ID, "type": ["string", "null"]}


def _view_schema(fields: dict) -> dict:
    return {"type": "object", "required": list(fields),
            "properties": {name: field.schema for name, field in fields.items()}}


MEETING = _view_schema(MEETING_VIEW)
PARTICIPANT = _view_schema(PARTICIPANT_VIEW)
TICKET = {"type": "object", "required": ["id", "from", "to", "kind", "sentAt"],
          "properties": {"id": {"type": "string", "pattern": "^[0-9]{12}$"}, "from": _ID,
                         "to": _ID, "kind": {"enum": list(schemas.TICKET_KINDS)},
                         "data": {}, "sentAt": _TIME}}
MESSAGE = {"type": "object", "required": ["id", "from", "fromName", "to", "toName", "text",
                                           "sentAt"],
           "properties": {"id": {"type": "string"}, "from": _ID, "fromName": {"type": "string"},
                          "to": _ID_OR_NULL, "toName": {"type": ["string", "null"]},
                          "text": {"type": "string"}, "sentAt": _TIME}}
REACTION = {"type": "object", "required": ["id", "from", "emoji", "sentAt"],
            "properties": {"id": {"type": "string"}, "from": _ID,
                           "emoji": {"enum": list(REACTION_EMOJI)}, "sentAt": _TIME}}
_COUNTS = {"type": ["array", "null"], "items": {"type": "integer", "minimum": 0},
           "description": "Votes per option; null for a guest while a poll with results "
                          "\"closed\" is open"}
POLL = {"type": "object",
        "required": ["id", "question", "options", "multiple", "anonymous", "results", "state",
                     "createdAt", "closedAt", "counts", "voters", "myVote"],
        "properties": {"id": {"type": "string"}, "question": {"type": "string"},
                       "options": {"type": "array", "items": {
                           "type": "object", "required": ["id", "text"],
                           "properties": {"id": {"type": "string"},
                                          "text": {"type": "string"}}}},
                       "multiple": {"type": "boolean"}, "anonymous": {"type": "boolean"},
                       "results": {"enum": ["live", "closed"]},
                       "state": {"enum": ["open", "closed"]}, "createdAt": _TIME,
                       "closedAt": {"type": ["string", "null"], "format": "date-time"},
                       "counts": _COUNTS, "voters": {"type": "integer", "minimum": 0},
                       "myVote": {"type": ["array", "null"], "items": {"type": "string"}}}}
REPORT = {"type": "object", "required": ["meeting", "polls"], "properties": {
    "meeting": {"type": "object", "required": ["id", "name"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
    "polls": {"type": "array", "items": {
        "type": "object", "required": ["question", "options", "voters"],
        "properties": {
            "question": {"type": "string"}, "voters": {"type": "integer"},
            "options": {"type": "array", "items": {
                "type": "object", "required": ["text", "votes"],
                "properties": {"text": {"type": "string"}, "votes": {"type": "integer"}}}},
            "votes": {"type": "array", "description": "Named polls only", "items": {
                "type": "object", "required": ["name", "options"],
                "properties": {"name": {"type": "string"},
                               "options": {"type": "array",
                                           "items": {"type": "string"}}}}}}}}}}
RECORDING_FILE = {"type": "object", "required": ["file", "status", "message"],
                  "properties": {"file": {"type": "string"},
                                 "status": {"type": "integer",
                                            "description": "0: stored; otherwise an error code"},
                                 "message": {"type": "string"},
                                 "size": {"type": "integer", "minimum": 0},
                                 "downloadUrl": {"type": "string", "description":
                                                 "A stored file of a done recording: a link "
                                                 "valid for one hour"}}}
RECORDING = {"type": "object",
             "required": ["id", "mode", "reserve", "state", "startedBy", "createdAt", "files"],
             "properties": {"id": _ID, "mode": {"enum": list(RECORDING_MODES)},
                            "reserve": {"type": "boolean"},
                            "state": {"enum": list(RECORDING_STATES)},
                            "startedBy": _ID, "createdAt": _TIME, "startedAt": _TIME,
                            "endedAt": _TIME,
                            "files": {"type": "array", "items": RECORDING_FILE},
                            "error": {"type": "string"},
                            "callbackUrl": {"type": "string", "description":
                                            "Moderators and the recording's bot only"}}}
_SECONDS = {"type": "number", "minimum": 0}
STREAM = {"type": "object",
          "required": ["id", "mode", "title", "state", "position", "loop", "startedBy",
                       "createdAt", "sourceKind"],
          "properties": {"id": _ID, "mode": {"enum": list(STREAM_MODES)},
                         "title": {"type": "string"}, "state": {"enum": list(STREAM_STATES)},
                         "position": {**_SECONDS, "description": "Seconds, as its bot last "
                                                                 "reported"},
                         "duration": {**_SECONDS, "description": "Seconds, once known (files)"},
                         "loop": {"type": "boolean"}, "error": {"type": "string"},
                         "requested": {"type": "object", "required": ["action", "at"],
                                       "description": "A moderator's last request to its bot",
                                       "properties": {
                                           "action": {"enum": ["pause", "resume", "seek",
                                                               "stop"]},
                                           "position": _SECONDS, "at": _TIME}},
                         "startedBy": _ID, "createdAt": _TIME, "endedAt": _TIME,
                         "sourceKind": {"enum": ["upload", "url"]},
                         "botId": {**_ID, "description": "The participant playing it"},
                         "sourceUrl": {"type": "string", "description":
                                       "Its own bot only: what it plays (an upload: a link "
                                       "valid for 6 h)"}}}
UPLOAD = {"type": "object", "required": ["id", "url", "fields", "maxBytes", "expiresAt"],
          "description": "A presigned S3 POST: send `fields` and then the file as `file` in "
                         "a multipart/form-data POST to `url`",
          "properties": {"id": _ID, "url": {"type": "string"},
                         "fields": {"type": "object",
                                    "additionalProperties": {"type": "string"}},
                         "maxBytes": {"type": "integer"}, "expiresAt": _TIME}}
ERROR = {"type": "object", "required": ["error"],
         "properties": {"error": {"type": "object", "required": ["code", "message"],
                                  "properties": {"code": {"type": "string",
                                                          "pattern": "^[a-z_]+$"},
                                                 "message": {"type": "string"},
                                                 # meeting_not_started: when it starts
                                                 "startsAt": _TIME}}}}

_REF = {name: {"$ref": f"#/components/schemas/{name}"}
        for name in ("Meeting", "Participant", "Ticket", "Message", "Reaction", "Poll",
                     "Recording", "Stream", "Error")}
_MID = {"name": "mid", "in": "path", "required": True, "schema": {"type": "string"}}
_PID = {"name": "pid", "in": "path", "required": True, "schema": {"type": "string"}}
_AFTER = {"name": "after", "in": "query", "required": False,
          "schema": schemas.AFTER_QUERY["properties"]["after"]}
_BEFORE = {"name": "before", "in": "query", "required": False,
           "description": "Older than this message id (not together with after)",
           "schema": schemas.HISTORY_QUERY["properties"]["before"]}
_POLL_ID = {"name": "poll", "in": "path", "required": True, "schema": {"type": "string"}}
_RID = {"name": "rid", "in": "path", "required": True, "schema": {"type": "string"}}
_SID = {"name": "sid", "in": "path", "required": True, "schema": {"type": "string"}}
_FORMAT = {"name": "format", "in": "query", "required": False,
           "schema": schemas.REPORT_QUERY["properties"]["format"]}
_AUTH = [{"bearer": []}]

_WHY = {400: "Invalid request", 401: "Missing, invalid or expired token, or passcode required",
        403: "Forbidden", 404: "Not found",
        409: "Meeting full, not started yet (meeting_not_started, with startsAt), the "
             "participant is not waiting (not_waiting), already voted (already_voted), "
             "the poll is closed (poll_closed), a recording or stream is active "
             "(recording_active, stream_active), too many bots (too_many_bots), a state a "
             "recording or stream cannot reach (invalid_transition), or a live stream "
             "cannot pause or seek (not_seekable)",
        410: "Meeting ended",
        413: "Payload too large; a file to upload over the limit (upload_too_large)",
        415: "Unsupported media type", 423: "Meeting locked",
        429: "Too many attempts or requests (Retry-After says when to try again)",
        503: "A write lost a race it could not settle; retry (a ticket with the same key); "
             "or recording or streaming is unavailable (recording_unavailable, "
             "streaming_unavailable)"}


def _obj(**props) -> dict:
    return {"type": "object", "required": list(props), "properties": props}


def _op(summary, ok, ok_schema=None, body=None, auth=False, errors=(), params=(_MID,),
        also=None, other=None):
    """One operation; `also`: another success `(status, description)` with the same body;
    `other`: another success `(status, description, schema)` with a body of its own."""
    responses = {}
    successes = [(ok, summary, ok_schema)]
    if also:
        successes.append((*also, ok_schema))
    if other:
        successes.append(other)
    for status, description, schema in successes:
        if schema is None:
            responses[str(status)] = {"description": description}
        else:
            responses[str(status)] = {"description": description,
                                      "content": {"application/json": {"schema": schema}}}
    codes = set(errors) | {400}
    if auth:
        codes |= {401, 403}
    if body is not None:
        codes |= {413, 415}
    for code in sorted(codes):
        responses[str(code)] = {"description": _WHY[code],
                                "content": {"application/json": {"schema": _REF["Error"]}}}
    op = {"summary": summary, "responses": responses}
    if params:
        op["parameters"] = list(params)
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if auth:
        op["security"] = _AUTH
    return op


def _report_op(gone) -> dict:
    """The poll report: JSON, or with format=csv a CSV file (one row per option, then per
    voter of a named poll)."""
    op = _op("Poll report, JSON or CSV (host or co-host)", 200, REPORT, auth=True,
             errors=gone, params=(_MID, _FORMAT))
    op["responses"]["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    return op


def document() -> dict:
    m, p = _REF["Meeting"], _REF["Participant"]
    gone = (404, 410)
    waiting = {**_obj(waiting={"const": True}, token={"type": "string"}, participant=p,
                      meeting=m, wsUrl={"type": "string"}),
               "description": "In the lobby: the token opens a WebSocket and leaves the "
                              "lobby (DELETE .../participants/me), nothing else"}
    lobby_counts = _obj(admitted={"type": "integer", "minimum": 0},
                        denied={"type": "integer", "minimum": 0}, full={"type": "boolean"})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Parley", "version": "1.0.0",
                 "description": "Browser video meetings: meetings, join, lobby, scheduled "
                                "start, WebRTC tickets, chat, reactions, polls, host controls, "
                                "recordings, media streamed into a meeting."},
        "paths": {
            "/meetings": {"post": _op("Create a meeting", 201, _obj(
                meeting=m, hostKey={"type": "string"}, link={"type": "string"}),
                body=schemas.CREATE_MEETING, errors=(429,), params=())},
            "/meetings/{mid}": {
                "get": _op("Look up a meeting", 200, _obj(meeting=m), errors=gone),
                "patch": _op("Lock or unlock, lobby on or off (host or co-host)", 200,
                             _obj(meeting=m),
                             body=schemas.UPDATE_MEETING, auth=True, errors=gone),
                "delete": _op("End the meeting for everyone (host or co-host)", 204,
                              auth=True, errors=gone),
            },
            "/meetings/{mid}/join": {"post": _op("Join", 200, _obj(
                token={"type": "string"}, participant=p,
                participants={"type": "array", "items": p}, meeting=m,
                iceServers={"type": "array", "items": {"type": "object"}},
                wsUrl={"type": "string"}),
                body=schemas.JOIN_MEETING, errors=(401, 403, 404, 409, 410, 423, 429),
                other=(202, "Waiting in the lobby until a host or co-host admits you",
                       waiting))},
            "/meetings/{mid}/lobby": {"get": _op(
                "Who waits in the lobby, oldest first (host or co-host)", 200,
                _obj(waiting={"type": "array", "items": p}), auth=True, errors=gone)},
            "/meetings/{mid}/lobby/{pid}/admit": {"post": _op(
                "Admit a participant from the lobby (host or co-host)", 200,
                _obj(participant=p), auth=True, errors=(*gone, 409, 429, 503),
                params=(_MID, _PID))},
            "/meetings/{mid}/lobby/{pid}/deny": {"post": _op(
                "Deny a participant in the lobby (host or co-host)", 200,
                _obj(participant=p), auth=True, errors=(*gone, 409, 429),
                params=(_MID, _PID))},
            "/meetings/{mid}/lobby/admit-all": {"post": _op(
                "Admit everyone waiting, oldest first, until the meeting is full (host or "
                "co-host)", 200, lobby_counts, auth=True, errors=(*gone, 429, 503))},
            "/meetings/{mid}/lobby/deny-all": {"post": _op(
                "Deny everyone waiting (host or co-host)", 200, lobby_counts, auth=True,
                errors=(*gone, 429))},
            "/meetings/{mid}/tickets": {
                "post": _op("Send a WebRTC ticket (again with the same key: the same ticket)",
                            202, _obj(ticket=_REF["Ticket"]), body=schemas.POST_TICKET,
                            auth=True, errors=(*gone, 429, 503)),
                "get": _op("Replay my tickets after a cursor", 200,
                           _obj(tickets={"type": "array", "items": _REF["Ticket"]}),
                           auth=True, errors=gone, params=(_MID, _AFTER)),
            },
            "/meetings/{mid}/participants": {"get": _op(
                "Who is in the meeting now", 200,
                _obj(participants={"type": "array", "items": p}), auth=True, errors=gone)},
            "/meetings/{mid}/participants/me": {
                "patch": _op("Change my audio/video/hand/screen state", 200,
                             _obj(participant=p), body=schemas.UPDATE_ME, auth=True,
                             errors=gone),
                "delete": _op("Leave", 204, auth=True, errors=(*gone, 503)),
            },
            "/meetings/{mid}/participants/{pid}/mute": {"post": _op(
                "Ask a participant to mute (host or co-host)", 202, _obj(participant=p),
                auth=True, errors=(*gone, 429), params=(_MID, _PID))},
            "/meetings/{mid}/participants/{pid}/ask-unmute": {"post": _op(
                "Ask a participant to unmute (host or co-host)", 202, _obj(participant=p),
                auth=True, errors=(*gone, 429), params=(_MID, _PID))},
            "/meetings/{mid}/mute-all": {"post": _op(
                "Ask every guest whose microphone is on to mute (host or co-host)", 202,
                _obj(muted={"type": "integer", "minimum": 0}), auth=True,
                errors=(*gone, 429))},
            "/meetings/{mid}/participants/{pid}": {
                "patch": _op("Lower a participant's hand (host or co-host); make or unmake a "
                             "co-host, or hand host over (host)", 200, _obj(participant=p),
                             body=schemas.UPDATE_PARTICIPANT, auth=True,
                             errors=(*gone, 429, 503), params=(_MID, _PID),
                             also=(202, "Asked their page to turn the camera off (video)")),
                "delete": _op("Remove a participant (host: anyone; co-host: guests)", 204,
                              auth=True, errors=(*gone, 503), params=(_MID, _PID)),
            },
            "/meetings/{mid}/messages": {
                "post": _op("Send a chat message to everyone, or to one participant (to)", 201,
                            _obj(message=_REF["Message"]), body=schemas.POST_MESSAGE,
                            auth=True, errors=(*gone, 429)),
                "get": _op("Chat history: the newest page, or after / before a cursor", 200,
                           _obj(messages={"type": "array", "items": _REF["Message"]},
                                more={"type": "boolean"}),
                           auth=True, errors=gone, params=(_MID, _AFTER, _BEFORE)),
            },
            "/meetings/{mid}/reactions": {"post": _op(
                "Send a reaction to everyone else", 202, _obj(reaction=_REF["Reaction"]),
                body=schemas.POST_REACTION, auth=True, errors=(*gone, 429))},
            "/meetings/{mid}/polls": {
                "post": _op("Create a poll (host or co-host)", 201, _obj(poll=_REF["Poll"]),
                            body=schemas.CREATE_POLL, auth=True, errors=(*gone, 429)),
                "get": _op("Every poll, oldest first, as the caller sees it", 200,
                           _obj(polls={"type": "array", "items": _REF["Poll"]}), auth=True,
                           errors=gone),
            },
            "/meetings/{mid}/polls/report": {"get": _report_op(gone)},
            "/meetings/{mid}/polls/{poll}/votes": {"post": _op(
                "Vote once: one option, or one or more in a multiple-choice poll", 201,
                _obj(poll=_REF["Poll"]), body=schemas.VOTE, auth=True,
                errors=(*gone, 409, 429, 503), params=(_MID, _POLL_ID))},
            "/meetings/{mid}/recordings": {
                "post": _op("Start a recording: its bot joins the meeting (host or co-host)",
                            201, _obj(recording=_REF["Recording"]),
                            body=schemas.START_RECORDING, auth=True,
                            errors=(*gone, 409, 429, 503)),
                "get": _op("Every recording, newest first; done ones with download links "
                           "(host or co-host)", 200,
                           _obj(recordings={"type": "array", "items": _REF["Recording"]}),
                           auth=True, errors=gone),
            },
            "/meetings/{mid}/recordings/{rid}": {
                "get": _op("One recording (host or co-host, or its own bot)", 200,
                           _obj(recording=_REF["Recording"]), auth=True, errors=gone,
                           params=(_MID, _RID)),
                "patch": _op("Report a recording's state, files or error (its own bot only)",
                             200, _obj(recording=_REF["Recording"]),
                             body=schemas.UPDATE_RECORDING, auth=True,
                             errors=(*gone, 409, 503), params=(_MID, _RID)),
                "delete": _op("Stop a recording (host or co-host)", 202,
                              _obj(recording=_REF["Recording"]), auth=True,
                              errors=(*gone, 429, 503), params=(_MID, _RID),
                              also=(200, "Already stopping or finished: unchanged")),
            },
            "/meetings/{mid}/streams/uploads": {"post": _op(
                "A form to upload a file for a stream straight to S3 (host or co-host)", 201,
                _obj(upload=UPLOAD), body=schemas.CREATE_UPLOAD, auth=True,
                errors=(*gone, 429, 503))},
            "/meetings/{mid}/streams": {
                "post": _op("Play a file or URL into the meeting: its bot joins (host or "
                            "co-host)", 201, _obj(stream=_REF["Stream"]),
                            body=schemas.START_STREAM, auth=True,
                            errors=(*gone, 409, 429, 503)),
                "get": _op("Every stream, newest first (anyone present)", 200,
                           _obj(streams={"type": "array", "items": _REF["Stream"]}),
                           auth=True, errors=gone),
            },
            "/meetings/{mid}/streams/{sid}": {
                "get": _op("One stream (anyone present; its own bot also gets sourceUrl)",
                           200, _obj(stream=_REF["Stream"]), auth=True, errors=gone,
                           params=(_MID, _SID)),
                "patch": _op("A moderator's pause, resume, seek or stop for its bot, or its "
                             "own bot's report", 200, _obj(stream=_REF["Stream"]),
                             body={"oneOf": [schemas.STREAM_ACTION, schemas.STREAM_REPORT]},
                             auth=True, errors=(*gone, 409, 429, 503), params=(_MID, _SID)),
                "delete": _op("Stop a stream (host or co-host)", 202,
                              _obj(stream=_REF["Stream"]), auth=True,
                              errors=(*gone, 429, 503), params=(_MID, _SID),
                              also=(200, "Already stopping or finished: unchanged")),
            },
            "/meetings/{mid}/polls/{poll}/close": {"post": _op(
                "Close a poll (host or co-host; again: the same answer)", 200,
                _obj(poll=_REF["Poll"]), auth=True, errors=(*gone, 429),
                params=(_MID, _POLL_ID))},
        },
        "components": {
            "schemas": {"Meeting": MEETING, "Participant": PARTICIPANT, "Ticket": TICKET,
                        "Message": MESSAGE, "Reaction": REACTION, "Poll": POLL,
                        "Recording": RECORDING, "Stream": STREAM, "Error": ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    }
