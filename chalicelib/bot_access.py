"""Bots in a meeting: the invitation the server gives a bot it starts, the bot's join, and
who may call a job's routes (a moderator, or the job's own bot).

The invitation is a JWT signed with the app's secret, like a participant token but of
another kind: claims {mid, role: "bot-invite", bot, iat, exp = iat + 24 h} and the id of
the bot's job: `rid` for a recorder (its recording), `sid` for a streamer (its stream);
no `sub`, so it is never a participant token, and a participant token is never an
invitation. With it a bot joins as a participant of role `bot` through the same join
route: no lobby, passcode, lock or scheduled start, and no seat (a bot never makes a
meeting full); at most MAX_BOTS bots are present at once. A restarted bot joins again
with the same invitation while its job is active; its earlier participant then leaves,
so the pages never negotiate with a bot that is gone. A streamer joins with its camera
and microphone on: it sends what it plays.
"""

import time

import jwt

from . import auth, recording_store, roster, stream_store
from .auth import ALGORITHM
from .config import Settings, settings
from .errors import InvalidBotToken
from .ids import is_id, participant_id
from .job_store import JobStore
from .models import Meeting, Participant, Stream, kept_until, meeting_pk, now, participant_sk

INVITE_ROLE = "bot-invite"
INVITE_TTL = 24 * 3600
_CLAIMS = ["mid", "role", "bot", "iat", "exp"]
# Each bot kind's jobs; the invitation's id claim is the job's id attribute (rid, sid)
JOBS: dict[str, JobStore] = {"recorder": recording_store.store, "streamer": stream_store.store}


def issue_invite(mid: str, job_id: str, s: Settings, kind: str = "recorder") -> str:
    issued = int(time.time())
    claims = {"mid": mid, JOBS[kind].kind.id_attr: job_id, "role": INVITE_ROLE, "bot": kind,
              "iat": issued, "exp": issued + INVITE_TTL}
    return jwt.encode(claims, s.jwt_secret(), algorithm=ALGORITHM)


def verify_invite(token: str, mid: str, s: Settings) -> dict:
    """The invitation's claims if it is valid and for meeting `mid`; 403
    `invalid_bot_token` otherwise (bad signature, expired, another meeting, not one)."""
    try:
        claims = jwt.decode(token, s.jwt_secret(), algorithms=[ALGORITHM],
                            options={"require": _CLAIMS})
    except jwt.InvalidTokenError as err:
        raise InvalidBotToken() from err
    jobs = JOBS.get(claims.get("bot"))
    job_id = claims.get(jobs.kind.id_attr) if jobs is not None else None
    if (claims.get("role") != INVITE_ROLE or claims.get("mid") != mid
            or not isinstance(job_id, str) or not is_id(job_id)):
        raise InvalidBotToken()
    return claims


def _active_job(jobs: JobStore, mid: str, job_id: str):
    job = jobs.get(mid, job_id)
    if job is None:
        raise InvalidBotToken()
    if not job.active:
        raise InvalidBotToken(f"This {jobs.kind.noun} is over; its bot cannot join again.")
    return job


def join(mid: str, body: dict, s: Settings) -> tuple[Meeting, list[Participant], Participant]:
    """A bot's join (`body` has `botToken`): the meeting, everyone ever in it as read, and
    the bot, now present. The meeting's errors (404/410) come first, then the
    invitation's (403 `invalid_bot_token`), then 409 `too_many_bots`."""
    meeting, _, members = roster.load(mid)
    claims = verify_invite(body["botToken"], mid, s)
    jobs = JOBS[claims["bot"]]
    kind = jobs.kind
    job_id = claims[kind.id_attr]
    job = _active_job(jobs, mid, job_id)
    roster.expire_stale(meeting, members)
    for earlier in roster.present(members):  # a restart: the bot it replaces leaves
        if earlier.role == "bot" and getattr(earlier, kind.bot_attr) == job_id:
            roster.depart(meeting, earlier, "left")
    pid = participant_id()
    streamer = isinstance(job, Stream)
    bot = Participant(meeting_pk(mid), participant_sk(pid), pid=pid, mid=mid,
                      name=body["name"].strip(), role="bot", bot=claims["bot"],
                      audio=streamer, video=streamer, joined_at=now(), expires=kept_until())
    setattr(bot, kind.bot_attr, job_id)
    # a stream names the bot playing it, for the pages' tile (set as the bot is seated)
    roster.seat_bot(meeting, bot, job, [Stream.bot_id.set(pid)] if streamer else [])
    return meeting, members, bot


def api_url(request) -> str | None:
    """The REST base a bot calls: PARLEY_API_URL, else this request's API Gateway stage."""
    configured = settings().api_url
    if configured:
        return configured.rstrip("/")
    context = getattr(request, "context", None) or {}
    domain, stage = context.get("domainName"), context.get("stage")
    return f"https://{domain}/{stage}" if domain and stage else None


def _caller(mid: str, request) -> Participant:
    _, caller = auth.member_or_bot(auth.claims(mid, request), mid)
    return caller


def own_bot(mid: str, job_id: str, request, bot: str) -> Participant:
    """The caller if it is the bot of job `job_id` (of kind `bot`), whatever its state
    and the meeting's; 403 otherwise (`not_recording_bot`, `not_stream_bot`)."""
    caller = _caller(mid, request)
    if caller.role != "bot" or getattr(caller, JOBS[bot].kind.bot_attr) != job_id:
        raise JOBS[bot].kind.not_own()
    return caller


def moderator_or_own_bot(mid: str, job_id: str, request, bot: str) -> Participant:
    """The caller: a moderator present, or job `job_id`'s own bot (whatever its state and
    the meeting's)."""
    caller = _caller(mid, request)
    if caller.role == "bot":
        if getattr(caller, JOBS[bot].kind.bot_attr) != job_id:
            raise JOBS[bot].kind.not_own()
    else:
        auth.require_moderator(caller)
    return caller
