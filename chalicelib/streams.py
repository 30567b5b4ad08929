"""The stream routes: a moderator uploads a file, starts a stream of it (or of a URL),
pauses, resumes, seeks and stops it; everyone present lists them; the stream's own bot
reads its source and reports how it goes. The state machine and its writes are in
stream_store.py (job_store.py), the source checks in stream_sources.py, the files in
stream_files.py, the bot's invitation and join in bot_access.py, starting it in
launcher.py.

Checks, in the order of the other moderator routes: the token and the caller (401/403),
the caller's power (403 `not_host`; a bot on PATCH: only the stream's own, 403
`not_stream_bot`), the body (400), the rate limit (`moderate`, 429), then what the
request asks of the stream. A refused request changes nothing. A bot's own routes (GET
one, PATCH) also work after it left and after the meeting ended.
"""

import logging
from datetime import timedelta

from chalice import Response

from . import auth, bot_access, ratelimit, stream_sources
from .config import settings
from .errors import (
    InvalidRequest,
    InvalidTransition,
    NotSeekable,
    NotStreamBot,
    ParticipantGone,
    StreamingUnavailable,
    StreamNotFound,
    TryAgain,
)
from .ids import is_id, stream_id, upload_id
from .job_store import ATTEMPTS
from .launcher import BotJob, Launcher, LaunchFailed
from .models import (
    Meeting,
    Participant,
    Stream,
    Upload,
    iso,
    kept_until,
    meeting_pk,
    now,
    stream_sk,
    streams_range,
    upload_sk,
)
from .schemas import CREATE_UPLOAD, START_STREAM, STREAM_ACTION, STREAM_REPORT, body_of
from .stream_files import UPLOAD_SECONDS, StreamFiles, upload_key
from .stream_store import store

log = logging.getLogger("parley")

# A bot's progress report that changes nothing but the position is stored at most this
# often (each stored change is pushed to everyone present); a faster one answers 200.
PROGRESS_INTERVAL = timedelta(seconds=1)
ENDED_SLACK = 1.0  # seconds short of its length that still counts as played to the end
CONTROLLABLE = ("starting", "playing", "paused")  # what pause, resume and seek apply to


def _moderator(mid: str, request) -> tuple[Meeting, Participant]:
    meeting, me = auth.member(mid, request)
    auth.require_moderator(me)
    return meeting, me


def _stream(mid: str, sid: str) -> Stream:
    stream = store.get(mid, sid) if is_id(sid) else None
    if stream is None:
        raise StreamNotFound()
    return stream


def _available(launcher: Launcher | None, files: StreamFiles) -> None:
    if launcher is None or not files.bucket:
        raise StreamingUnavailable("Playing media is not set up on this server.")


def create_upload(mid: str, request, launcher: Launcher | None, files: StreamFiles) -> Response:
    """POST .../streams/uploads `{fileName, contentType, size}` (moderator): 201
    `{upload: {id, url, fields, maxBytes, expiresAt}}`, a form the browser POSTs the file
    with straight to S3. 413 `upload_too_large`, 400 `unsupported_media_type`."""
    meeting, me = _moderator(mid, request)
    body = body_of(request, CREATE_UPLOAD)
    ratelimit.buckets().take("moderate", me.pid)
    _available(launcher, files)
    content_type = stream_sources.check_content_type(body["contentType"])
    stream_sources.check_size(body["size"], files)
    uid = upload_id()
    key = upload_key(mid, uid, body["fileName"])
    Upload(meeting_pk(mid), upload_sk(uid), upload_id=uid, file_name=body["fileName"].strip(),
           key=key, content_type=content_type, size=body["size"], created_by=me.pid,
           created_at=now(), expires=kept_until()).save()
    form = files.upload_form(key, content_type)
    return Response(status_code=201, body={"upload": {
        "id": uid, "url": form["url"], "fields": form["fields"], "maxBytes": files.max_bytes,
        "expiresAt": iso(now() + timedelta(seconds=UPLOAD_SECONDS))}})


def _resumed_position(mid: str, source: str) -> float:
    """Where the newest earlier stream of `source` in this meeting stopped, unless it
    played to its end: a stream started again with `resume` goes on from there."""
    for earlier in Stream.query(meeting_pk(mid), streams_range(), consistent_read=True,
                                scan_index_forward=False, limit=50):
        if earlier.source != source or earlier.mode != "file":
            continue
        position = float(earlier.position or 0)
        if earlier.duration is not None and position >= float(earlier.duration) - ENDED_SLACK:
            return 0.0
        return position
    return 0.0


def start(mid: str, request, launcher: Launcher | None, files: StreamFiles) -> Response:
    """POST .../streams `{source, mode?, loop?, resume?, title?}` (moderator): 201
    `{stream}` (starting), and its bot is launched; 409 `stream_active`; 503
    `streaming_unavailable` when the server cannot stream, or the launch failed (the
    stream is then `failed`)."""
    meeting, me = _moderator(mid, request)
    body = body_of(request, START_STREAM)
    ratelimit.buckets().take("moderate", me.pid)
    s = settings()
    api_url = bot_access.api_url(request)
    _available(launcher, files)
    if not api_url:
        raise StreamingUnavailable("Playing media is not set up on this server.")
    mode = body.get("mode", "file")
    if mode == "live" and body.get("loop"):
        raise InvalidRequest("Invalid request: a live stream cannot loop.")
    source = stream_sources.check(mid, body["source"], mode, files, s.allow_private_sources)
    resume = body.get("resume", True)
    sid = stream_id()
    stream = Stream(meeting_pk(mid), stream_sk(sid), sid=sid, mode=mode,
                    title=stream_sources.title(body.get("title"), source),
                    source=source.source, source_key=source.key,
                    loop=body.get("loop", False), resume=resume,
                    state="starting",
                    position=_resumed_position(mid, source.source)
                    if resume and mode == "file" else 0,
                    started_by=me.pid, created_at=now(), expires=kept_until())
    store.open(meeting, stream)
    job = BotJob(kind="streamer", api_url=api_url, meeting=mid, job=sid,
                 token=bot_access.issue_invite(mid, sid, s, kind="streamer"),
                 options={"mode": mode, "loop": bool(stream.loop), "resume": resume,
                          "title": stream.title})
    try:
        launcher.launch(job)
    except LaunchFailed as err:
        log.error("meeting %s: stream %s: %s", mid, sid, err)
        store.fail(stream, "The streamer could not be started.")
        raise StreamingUnavailable("The streamer could not be started; the stream "
                                   "failed.") from err
    return Response(status_code=201, body={"stream": stream.public()})


def listing(mid: str, request) -> dict:
    """GET .../streams (anyone present): every stream of the meeting, newest first."""
    auth.member(mid, request)
    found = Stream.query(meeting_pk(mid), streams_range(), consistent_read=True,
                         scan_index_forward=False)
    return {"streams": [stream.public() for stream in found]}


def _caller(mid: str, sid: str, request) -> tuple[Participant, bool]:
    """The caller, and whether it is stream `sid`'s own bot (which passes whatever its
    state and the meeting's; any other bot only while present)."""
    _, caller = auth.member_or_bot(auth.claims(mid, request), mid)
    own = caller.role == "bot" and caller.stream_id == sid
    if caller.role == "bot" and not own and not caller.active:
        raise ParticipantGone()
    return caller, own


def get(mid: str, sid: str, request, files: StreamFiles) -> dict:
    """GET .../streams/{sid} (anyone present, or its own bot, which also gets
    `sourceUrl`: what it plays)."""
    _, own = _caller(mid, sid, request)
    stream = _stream(mid, sid)
    if not own:
        return {"stream": stream.public()}
    link = files.read_url(stream.source_key) if stream.source_key else stream.source
    return {"stream": stream.public(source_url=link)}


def stop(mid: str, sid: str, request) -> Response:
    """DELETE .../streams/{sid} (moderator): 202 `{stream}` now stopping; one already
    stopping, ended or failed: 200, unchanged."""
    _, me = _moderator(mid, request)
    ratelimit.buckets().take("moderate", me.pid)
    stream = _stream(mid, sid)
    stopped = store.stop(stream, [Stream.requested.set(_request("stop"))])
    return Response(status_code=202 if stopped else 200, body={"stream": stream.public()})


def _request(action: str, position: float | None = None) -> dict:
    asked = {"action": action, "at": iso(now())}
    if position is not None:
        asked["position"] = position
    return asked


def update(mid: str, sid: str, request) -> dict:
    """PATCH .../streams/{sid}: a moderator's `{action, position?}` for the bot, or the
    stream's own bot's report `{state?, position?, duration?, error?}`."""
    caller, own = _caller(mid, sid, request)
    if caller.role == "bot":
        if not own:
            raise NotStreamBot()
        return _report(mid, sid, body_of(request, STREAM_REPORT))
    auth.require_moderator(caller)
    body = body_of(request, STREAM_ACTION)
    ratelimit.buckets().take("moderate", caller.pid)
    return _act(mid, sid, body["action"], body.get("position"))


def _act(mid: str, sid: str, action: str, position: float | None) -> dict:
    """200 `{stream}` with `requested` set for its bot to carry out. A stop also moves
    it to stopping (a finished one: unchanged); pause, resume and seek need it starting,
    playing or paused (409 `invalid_transition`), pause and seek a file (409
    `not_seekable`)."""
    stream = _stream(mid, sid)
    if action == "stop":
        store.stop(stream, [Stream.requested.set(_request("stop"))])
        return {"stream": stream.public()}
    if stream.mode == "live" and action in ("pause", "seek"):
        raise NotSeekable()
    if stream.duration is not None and position is not None \
            and position > float(stream.duration):
        raise InvalidRequest(f"Invalid request: position is beyond the end "
                             f"({_seconds(stream.duration)} s).")
    for _ in range(ATTEMPTS):
        if stream.state not in CONTROLLABLE:
            raise InvalidTransition(f"A stream that is {stream.state} cannot {action}.")
        if store.amend(stream, [Stream.requested.set(_request(action, position))]):
            stream.refresh(consistent_read=True)
            return {"stream": stream.public()}
    raise TryAgain("The stream keeps changing; please retry.")


def _seconds(value) -> str:
    return f"{float(value):g}"


def _report(mid: str, sid: str, body: dict) -> dict:
    """Its bot's report (stream_store.BOT_MOVES; 409 `invalid_transition` otherwise); a
    position-only report sooner than PROGRESS_INTERVAL after the last is not stored."""
    stream = _stream(mid, sid)
    at = now()
    if (set(body) == {"position"} and stream.progress_at is not None
            and at - stream.progress_at < PROGRESS_INTERVAL):
        return {"stream": stream.public()}
    more = [Stream.progress_at.set(at)]
    if "position" in body:
        more.append(Stream.position.set(body["position"]))
    if "duration" in body:
        more.append(Stream.duration.set(body["duration"]) if body["duration"] is not None
                    else Stream.duration.remove())
    if "error" in body:
        more.append(Stream.error.set(body["error"]) if body["error"] else Stream.error.remove())
    stream = store.report(stream, body.get("state"), more, _invalid)
    return {"stream": stream.public()}


def _invalid(old: str, new: str) -> InvalidTransition:
    return InvalidTransition(f"A stream cannot go from {old} to {new}.")
