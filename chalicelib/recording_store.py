"""A recording's life in the table: the recording kind of bot job (job_store.py has the
writes: one active per meeting, conditional moves, the meeting's mirror in step).

States: starting → recording → stopping → uploading → done | failed. The server starts a
recording (`starting`) and stops one (`stopping`: a moderator's DELETE, the meeting's
end); everything else is reported by the recording's own bot (`BOT_MOVES`). The first
four states are active; the meeting's mirror is `recording_id`, `recording_mode`,
`recording_state`.
"""

from datetime import timedelta

from .errors import NotRecordingBot, RecordingActive
from .job_store import JobKind, JobStore
from .models import RECORDING_ACTIVE, Recording, now, recording_sk

# What the recording's bot may move it to, from each state (a repeat of the state it is
# in is a no-op: a retried report). `stopping` is never the bot's: it stops by itself
# (the meeting left to bots, removed) by reporting `uploading` or `failed`.
BOT_MOVES = {
    "starting": ("recording", "uploading", "failed"),
    "recording": ("uploading", "failed"),
    "stopping": ("uploading", "failed"),
    "uploading": ("done", "failed"),
}
STOPPABLE = ("starting", "recording")  # what a stop moves to `stopping`; later ones go on
FINAL = ("done", "failed")
CAPTURING = ("starting", "recording")  # leaving these ends the recording (`ended_at`)
# With no bot of it present: starting this long (Fargate pulls the image and starts in a
# minute or two), or stopping this long (the bot leaves, then reports uploading).
START_TIMEOUT = timedelta(minutes=10)
STOP_TIMEOUT = timedelta(minutes=5)


def _stamps(recording: Recording, to: str) -> list:
    """`startedAt` when it begins to record, `endedAt` when it stops capturing."""
    actions = []
    if to == "recording" and recording.started_at is None:
        actions.append(Recording.started_at.set(now()))
    if recording.state in CAPTURING and to not in CAPTURING and recording.ended_at is None:
        actions.append(Recording.ended_at.set(now()))
    return actions


RECORDINGS = JobKind(
    noun="recording", bot="recorder", model=Recording, key=recording_sk, id_attr="rid",
    bot_attr="recording_id",
    mirror=(("recording_id", "rid"), ("recording_mode", "mode"), ("recording_state", "state")),
    active=RECORDING_ACTIVE, final=FINAL, stoppable=STOPPABLE, bot_moves=BOT_MOVES,
    busy=RecordingActive, not_own=NotRecordingBot, stamps=_stamps,
    overdue={"starting": (START_TIMEOUT, lambda r: r.created_at),
             "stopping": (STOP_TIMEOUT, lambda r: r.ended_at or r.created_at)})

store = JobStore(RECORDINGS)
bot_may_move = store.bot_may_move
create = store.create
open_one = store.open
move = store.move
amend = store.amend
report = store.report
stop = store.stop
fail = store.fail
stop_active = store.stop_active
abandoned = store.abandoned
