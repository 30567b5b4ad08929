"""A stream's life in the table: the stream kind of bot job (job_store.py has the writes:
one active per meeting, conditional moves, the meeting's mirror in step).

States: starting → playing ⇄ paused → stopping → ended | failed. The server starts a
stream (`starting`) and stops one (`stopping`: a moderator's DELETE or stop, the
meeting's end); everything else is reported by the stream's own bot (`BOT_MOVES`). The
first four states are active; the meeting's mirror is `stream_id`, `stream_title`,
`stream_state`.
"""

from datetime import timedelta

from .errors import NotStreamBot, StreamActive
from .job_store import JobKind, JobStore
from .models import STREAM_ACTIVE, Stream, now, stream_sk

# What the stream's bot may move it to, from each state (a repeat of the state it is in
# is a no-op: a retried report). `stopping` is the server's; a bot that stops by itself
# (its file ended, the meeting left to bots, removed) reports `ended` or `failed`.
BOT_MOVES = {
    "starting": ("playing", "failed"),
    "playing": ("paused", "ended", "failed"),
    "paused": ("playing", "ended", "failed"),
    "stopping": ("ended", "failed"),
}
STOPPABLE = ("starting", "playing", "paused")
FINAL = ("ended", "failed")
# With no bot of it present: starting this long (Fargate pulls the image and starts in a
# minute or two); playing, paused or stopping with no report for this long (a bot
# reports every few seconds; a restarted one is back well within it).
START_TIMEOUT = timedelta(minutes=10)
SILENCE_TIMEOUT = timedelta(minutes=2)


def _stamps(stream: Stream, to: str) -> list:
    """`endedAt` when it is over."""
    return [Stream.ended_at.set(now())] if to in FINAL and stream.ended_at is None else []


def _last_heard(stream: Stream):
    return stream.progress_at or stream.created_at


STREAMS = JobKind(
    noun="stream", bot="streamer", model=Stream, key=stream_sk, id_attr="sid",
    bot_attr="stream_id",
    mirror=(("stream_id", "sid"), ("stream_title", "title"), ("stream_state", "state")),
    active=STREAM_ACTIVE, final=FINAL, stoppable=STOPPABLE, bot_moves=BOT_MOVES,
    busy=StreamActive, not_own=NotStreamBot, stamps=_stamps,
    overdue={"starting": (START_TIMEOUT, lambda s: s.created_at),
             **dict.fromkeys(("playing", "paused", "stopping"),
                             (SILENCE_TIMEOUT, _last_heard))})

store = JobStore(STREAMS)
