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

from . import auth, bot_access, callbacks, ratelimit, recording_store
from .config import settings
from .errors import (
    InvalidRequest,
    InvalidTransition,
    RecordingNotFound,
    RecordingUnavailable,
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


def start(mid: str, request, launcher: Launcher | None) -> Response:
    """POST .../recordings `{mode?, reserve?, callbackUrl?}` (moderator): 201
    `{recording}` (starting), and its bot is launched; 409 `recording_active`; 503
    `recording_unavailable` when the server cannot record, or the launch failed (the
    recording is then `failed`)."""
    meeting, me = _moderator(mid, request)
    body = body_of(request, START_RECORDING)
    ratelimit.buckets().take("moderate", me.pid)
    s = settings()
    api_url = bot_access.api_url(request)
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
    recording_store.open_one(meeting, recording)
    job = BotJob(kind="recorder", api_url=api_url, meeting=mid, job=rid,
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


def get(mid: str, rid: str, request, downloads: Downloads) -> dict:
    """GET .../recordings/{rid} (moderator, or the recording's own bot)."""
    bot_access.moderator_or_own_bot(mid, rid, request, "recorder")
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
    bot_access.own_bot(mid, rid, request, "recorder")
    body = body_of(request, UPDATE_RECORDING)
    more = []
    if "files" in body:
        more.append(Recording.files.set(_files(mid, rid, body["files"])))
    if "error" in body:
        more.append(Recording.error.set(body["error"]) if body["error"]
                    else Recording.error.remove())
    recording = recording_store.report(_recording(mid, rid), body.get("state"), more,
                                       _invalid)
    return {"recording": recording.public(private=True, download_url=downloads.url)}


def _invalid(old: str, new: str) -> InvalidTransition:
    return InvalidTransition(f"A recording cannot go from {old} to {new}.")
