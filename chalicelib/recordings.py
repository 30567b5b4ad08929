"""The recording routes: a moderator starts, lists and stops recordings; the recording's
own bot reports how it goes. The state machine and its writes are in recording_store.py,
the bot's invitation and join in bot_access.py, starting the bot in launcher.py.

Checks, in the order of the other moderator routes: the token and the caller (401/403),
the caller's power (403 `not_host`; on PATCH only the recording's own bot: 403
`not_recording_bot`), the body (400), the rate limit (`moderate`, 429), then what the
request asks of the recording. A refused request changes nothing. A bot's own routes
(GET one, PATCH) also work after it left and after the meeting ended: a recorder reports
its upload then.
"""

import logging

from chalice import Response
from pynamodb.exceptions import DoesNotExist

from . import auth, bot_access, callbacks, ratelimit, recording_store, roster
from .config import settings
from .errors import (
    InvalidRequest,
    InvalidTransition,
    NotRecordingBot,
    RecordingActive,
    RecordingNotFound,
    RecordingUnavailable,
    TryAgain,
)
from .ids import is_id, recording_id
from .launcher import BotJob, Launcher, LaunchFailed
from .models import (
    Meeting,
    Participant,
    Recording,
    kept_until,
    meeting_pk,
    now,
    recording_sk,
    recordings_range,
)
from .schemas import START_RECORDING, UPDATE_RECORDING, body_of
from .storage import Downloads, key_prefix

log = logging.getLogger("parley")


def _moderator(mid: str, request) -> tuple[Meeting, Participant]:
    meeting, me = auth.member(mid, request)
    auth.require_moderator(me)
    return meeting, me


def _recording(mid: str, rid: str) -> Recording:
    if not is_id(rid):
        raise RecordingNotFound()
    try:
        return Recording.get(meeting_pk(mid), recording_sk(rid), consistent_read=True)
    except DoesNotExist as err:
        raise RecordingNotFound() from err


def _api_url(request) -> str | None:
    """The REST base a bot calls: PARLEY_API_URL, else this request's API Gateway stage."""
    configured = settings().api_url
    if configured:
        return configured.rstrip("/")
    context = getattr(request, "context", None) or {}
    domain, stage = context.get("domainName"), context.get("stage")
    return f"https://{domain}/{stage}" if domain and stage else None


def _open(meeting: Meeting, recording: Recording) -> None:
    """Create `recording` as the meeting's active one; an active one that will never
    finish (`recording_store.abandoned`) is failed first, once."""
    try:
        recording_store.create(meeting, recording)
        return
    except RecordingActive:
        try:
            active = _recording(meeting.mid, meeting.recording_id)
        except RecordingNotFound:
            raise RecordingActive() from None
        if not recording_store.abandoned(active, roster.members(meeting.mid, consistent=True)):
            raise
        log.warning("meeting %s: recording %s was %s with no bot; failing it", meeting.mid,
                    active.rid, active.state)
        recording_store.fail(active, "The recorder stopped answering.")
    recording_store.create(meeting, recording)


def start(mid: str, request, launcher: Launcher | None) -> Response:
    """POST .../recordings `{mode?, reserve?, callbackUrl?}` (moderator): 201
    `{recording}` (starting), and its bot is launched; 409 `recording_active`; 503
    `recording_unavailable` when the server cannot record, or the launch failed (the
    recording is then `failed`)."""
    meeting, me = _moderator(mid, request)
    body = body_of(request, START_RECORDING)
    ratelimit.buckets().take("moderate", me.pid)
    s = settings()
    api_url = _api_url(request)
    if launcher is None or not s.recordings_bucket or not api_url:
        raise RecordingUnavailable("Recording is not set up on this server.")
    callback = body.get("callbackUrl")
    if callback is not None:
        callbacks.check(callback, allow_private=s.allow_private_callbacks)
    rid = recording_id()
    recording = Recording(meeting_pk(mid), recording_sk(rid), rid=rid,
                          mode=body.get("mode", "audio"), reserve=body.get("reserve", True),
                          state="starting", started_by=me.pid, created_at=now(),
                          callback_url=callback, expires=kept_until())
    _open(meeting, recording)
    job = BotJob(api_url=api_url, meeting=mid, recording=rid,
                 token=bot_access.issue_invite(mid, rid, s),
                 options={"mode": recording.mode, "reserve": recording.reserve,
                          "callbackUrl": callback})
    try:
        launcher.launch(job)
    except LaunchFailed as err:
        log.error("meeting %s: recording %s: %s", mid, rid, err)
        recording_store.fail(recording, "The recorder could not be started.")
        raise RecordingUnavailable("The recorder could not be started; the recording "
                                   "failed.") from err
    return Response(status_code=201, body={"recording": recording.public(private=True)})


def listing(mid: str, request, downloads: Downloads) -> dict:
    """GET .../recordings (moderator): every recording of the meeting, newest first; the
    stored files of a done one carry a download link."""
    _moderator(mid, request)
    found = Recording.query(meeting_pk(mid), recordings_range(), consistent_read=True,
                            scan_index_forward=False)
    return {"recordings": [r.public(private=True, download_url=downloads.url) for r in found]}


def _moderator_or_own_bot(mid: str, rid: str, request) -> Participant:
    """The caller: a moderator present, or recording `rid`'s own bot (whatever its state
    and the meeting's)."""
    _, caller = auth.member_or_bot(auth.claims(mid, request), mid)
    if caller.role == "bot":
        if caller.recording_id != rid:
            raise NotRecordingBot()
    else:
        auth.require_moderator(caller)
    return caller


def get(mid: str, rid: str, request, downloads: Downloads) -> dict:
    """GET .../recordings/{rid} (moderator, or the recording's own bot)."""
    _moderator_or_own_bot(mid, rid, request)
    return {"recording": _recording(mid, rid).public(private=True,
                                                     download_url=downloads.url)}


def stop(mid: str, rid: str, request) -> Response:
    """DELETE .../recordings/{rid} (moderator): 202 `{recording}` now stopping; one
    already past that (stopping, uploading, done, failed): 200, unchanged."""
    _, me = _moderator(mid, request)
    ratelimit.buckets().take("moderate", me.pid)
    recording = _recording(mid, rid)
    stopped = recording_store.stop(recording)
    return Response(status_code=202 if stopped else 200,
                    body={"recording": recording.public(private=True)})


def _files(mid: str, rid: str, files: list[dict]) -> list[dict]:
    """The reported files as stored; each key must lie under the recording's own prefix
    (the only keys a download link is ever signed for)."""
    prefix = key_prefix(mid, rid)
    for n, f in enumerate(files):
        if not f["key"].startswith(prefix) or ".." in f["key"].split("/"):
            raise InvalidRequest(f"Invalid request: files[{n}].key must lie under {prefix}.")
    return [{"file": f["file"], "key": f["key"], "status": f["status"],
             "message": f.get("message", ""), **({"size": f["size"]} if "size" in f else {})}
            for f in files]


def update(mid: str, rid: str, request, downloads: Downloads) -> dict:
    """PATCH .../recordings/{rid} `{state?, files?, error?}` (the recording's own bot):
    200 `{recording}`; 409 `invalid_transition` for a state it cannot reach from the one
    it is in (`recording_store.BOT_MOVES`)."""
    _, caller = auth.member_or_bot(auth.claims(mid, request), mid)
    if caller.role != "bot" or caller.recording_id != rid:
        raise NotRecordingBot()
    body = body_of(request, UPDATE_RECORDING)
    more = []
    if "files" in body:
        more.append(Recording.files.set(_files(mid, rid, body["files"])))
    if "error" in body:
        more.append(Recording.error.set(body["error"]) if body["error"]
                    else Recording.error.remove())
    recording = _recording(mid, rid)
    for _ in range(recording_store.ATTEMPTS):
        to = body.get("state", recording.state)
        if not recording_store.bot_may_move(recording.state, to):
            raise InvalidTransition(f"A recording cannot go from {recording.state} to {to}.")
        if to == recording.state:
            done = not more or recording_store.amend(recording, more)
            if done and more:
                recording.refresh(consistent_read=True)
        else:
            done = recording_store.move(recording, to, more)
        if done:
            return {"recording": recording.public(private=True, download_url=downloads.url)}
    raise TryAgain("The recording keeps changing; please retry.")
