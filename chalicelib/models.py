"""The single DynamoDB table: its keys, its item types, and what others may see of them.

Item types share the table through a discriminator attribute `type`, so a stream image
or a partition query decodes straight into the right model class. This is the only
module that knows what a key looks like; every other module asks the helpers below.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from .config import settings

TICKET_TTL = timedelta(hours=1)
REACTION_TTL = timedelta(seconds=60)  # a reaction is only pushed; nothing reads it back
ITEM_TTL_MARGIN = timedelta(days=1)
ABSENCE_TTL = timedelta(days=1)


def now() -> datetime:
    return datetime.now(UTC)


def kept_until(start: datetime | None = None) -> datetime:
    """TTL backstop of a meeting's lasting items: retention, then a day's margin, counted
    from now or from a scheduled `start` that is later."""
    begins = max(now(), start) if start is not None else now()
    return begins + timedelta(hours=settings().retention_hours) + ITEM_TTL_MARGIN


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- keys ---------------------------------------------------------------------------------
# A meeting's partition `M#<mid>` holds everything of the meeting. Its sort keys, in the
# order DynamoDB keeps them (byte order):
#
#     B#<rid>  <  E#<id>  <  F#<sid>  <  K#<from>#<to>#<key>  <  META  <  MSG#<id>
#              <  N#<to>  <  O#<poll>  <  P#<pid>  <  SECRET  <  T#<to>#<tid>
#              <  U#<upload>  <  V#<poll>#<pid>
#
# Polls `O#<poll>` sort before the roster and votes `V#<poll>#<pid>` after the tickets, so
# neither falls in `roster_range`; poll ids, like chat message ids, begin with the time.
# Recordings `B#<rid>` (a bot's job) sort first, outside `roster_range` too (an `R#` prefix
# would fall inside it); recording ids begin with the time, so a backward Query of `B#`
# lists them newest first. Streams `F#<sid>` (media played into the meeting: a feed) and
# their uploads `U#<upload>` sort outside it too (an `S#` prefix would fall inside it, as
# `S#` < `SECRET`); stream ids begin with the time like recording ids.
#
# Facts the code relies on: participants and the secret are one contiguous range
# (`roster_range`: P#… up to SECRET), read by one Query on every join, so nothing else
# may sort between them (the ticket counters `N#`, keys `K#` and reactions `E#` sort
# outside it: reactions pile up until DynamoDB's TTL gets round to them); chat
# messages sort by id, which begins with the send time; a recipient's tickets sort by
# ticket id, and `T#<to>#` holds nothing but tickets.
# Outside meetings: `C#<connection id>` / `CONN` maps a WebSocket to its participant, and
# partition `ABSENT` lists participants who have no open connection, oldest first.

_MEETING = "M#"
_PARTICIPANT = "P#"
_MESSAGE = "MSG#"
_REACTION = "E#"
_TICKET = "T#"
_POLL = "O#"
_RECORDING = "B#"
_STREAM = "F#"
_UPLOAD = "U#"
_VOTE = "V#"
_TICKET_COUNTER = "N#"
_TICKET_KEY = "K#"
_CONNECTION = "C#"
META_SK = "META"
SECRET_SK = "SECRET"  # noqa: S105 (a sort key, not a password)
CONNECTION_SK = "CONN"
ABSENCE_PK = "ABSENT"
_LAST = "~"  # sorts after every id character ([A-Za-z0-9_-])


def meeting_pk(mid: str) -> str:
    return f"{_MEETING}{mid}"


def mid_of(pk: str) -> str:
    """The meeting id of a meeting partition key."""
    return pk[len(_MEETING):]


def participant_sk(pid: str) -> str:
    return f"{_PARTICIPANT}{pid}"


def message_sk(message_id: str) -> str:
    return f"{_MESSAGE}{message_id}"


def reaction_sk(reaction_id: str) -> str:
    return f"{_REACTION}{reaction_id}"


def poll_sk(poll_id: str) -> str:
    return f"{_POLL}{poll_id}"


def vote_sk(poll_id: str, pid: str) -> str:
    """One participant's vote in one poll: the key that makes it one vote per person."""
    return f"{_VOTE}{poll_id}#{pid}"


def recording_sk(rid: str) -> str:
    return f"{_RECORDING}{rid}"


def recordings_range():
    return Item.sk.startswith(_RECORDING)


def stream_sk(sid: str) -> str:
    return f"{_STREAM}{sid}"


def streams_range():
    return Item.sk.startswith(_STREAM)


def upload_sk(upload_id: str) -> str:
    return f"{_UPLOAD}{upload_id}"


def polls_range():
    return Item.sk.startswith(_POLL)


def votes_range(poll_id: str):
    return Item.sk.startswith(f"{_VOTE}{poll_id}#")


def ticket_sk(to: str, tid: str) -> str:
    return f"{_TICKET}{to}#{tid}"


def ticket_counter_sk(to: str) -> str:
    """The last ticket number a recipient was given (`N#` sorts outside every range)."""
    return f"{_TICKET_COUNTER}{to}"


def ticket_key_sk(sender: str, to: str, key: str) -> str:
    """A sender's idempotency key for a ticket to `to`; pids and keys hold no `#`."""
    return f"{_TICKET_KEY}{sender}#{to}#{key}"


def connection_pk(connection_id: str) -> str:
    return f"{_CONNECTION}{connection_id}"


def connection_id_of(pk: str) -> str:
    """The WebSocket connection id of a connection partition key."""
    return pk[len(_CONNECTION):]


def absence_sk(since: float, mid: str, pid: str) -> str:
    """Milliseconds first, zero padded, so the partition sorts by how long someone is gone."""
    return f"{int(since * 1000):015d}#{mid}#{pid}"


def roster_range():
    """Every participant of a meeting and its secret (P#… ≤ SECRET), for one Query."""
    return Item.sk.between(_PARTICIPANT, SECRET_SK)


def participants_range():
    return Item.sk.startswith(_PARTICIPANT)


def messages_range(after: str | None = None, before: str | None = None):
    """Chat messages: all of them, from id `after` on, or up to id `before` (both bounds
    inclusive: callers drop the cursor itself)."""
    if after is not None:
        return Item.sk.between(message_sk(after), message_sk(_LAST))
    if before is not None:
        return Item.sk.between(message_sk(""), message_sk(before))
    return Item.sk.startswith(_MESSAGE)


def tickets_range(to: str, after: str = ""):
    """Tickets addressed to `to`, from id `after` on (inclusive: callers drop it)."""
    return Item.sk.between(ticket_sk(to, after), ticket_sk(to, _LAST))


def absences_before(since: float):
    """Absences that began before `since` (epoch seconds)."""
    return Item.sk < absence_sk(since, "", "")


# --- items --------------------------------------------------------------------------------

class Item(Model):
    """Base of every item; `expires` is the TTL backstop, the autoclear cron the real purge."""

    class Meta:
        table_name = settings().table
        region = settings().region
        host = settings().dynamodb_endpoint
        max_retry_attempts = 3
        billing_mode = "PAY_PER_REQUEST"
        stream_view_type = "NEW_AND_OLD_IMAGES"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    item_type = DiscriminatorAttribute(attr_name="type")
    expires = TTLAttribute(null=True)


@dataclass(frozen=True)
class Visible:
    """One field of an item that clients see: how to read it, and its JSON schema.

    `settable`: participants may change it themselves (PATCH .../participants/me).
    `announced`: a change to it is pushed to the others (participant-/meeting-updated).
    `write`: for a settable field, the update actions that set it to a value; by default
    one SET of the model attribute of the same name.
    """

    read: Callable[[Any], Any]
    schema: dict
    settable: bool = False
    announced: bool = True
    write: Callable[[Any], list] | None = None


def view_of(item, fields: dict[str, Visible]) -> dict:
    return {name: field.read(item) for name, field in fields.items()}


def announced_change(fields: dict[str, Visible], new: dict, old: dict) -> bool:
    """Whether two views of an item differ in a field the others are told about."""
    return any(new[name] != old[name] for name, field in fields.items() if field.announced)


ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 32}
_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_BOOL = {"type": "boolean"}
_TEXT = {"type": "string"}
_INT = {"type": "integer"}


RECORDING_MODES = ("audio", "video", "av")  # mp3 of the voices, mp4 grid, mp4 grid + voices
# starting → recording → stopping → uploading → done | failed; the first four are active
RECORDING_STATES = ("starting", "recording", "stopping", "uploading", "done", "failed")
RECORDING_ACTIVE = RECORDING_STATES[:4]
STREAM_MODES = ("file", "live")  # a file (seekable; may loop) or a live source (its live edge)
# starting → playing ⇄ paused → stopping → ended | failed; the first four are active
STREAM_STATES = ("starting", "playing", "paused", "stopping", "ended", "failed")
STREAM_ACTIVE = STREAM_STATES[:4]
BOT_KINDS = ("recorder", "streamer")
MAX_BOTS = 2  # bots present in a meeting at once


class Meeting(Item, discriminator="Meeting"):
    mid = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    state = UnicodeAttribute(default="open")  # open | ended
    locked = BooleanAttribute(default=False)
    max_participants = NumberAttribute(default=6)
    participant_count = NumberAttribute(default=0)
    has_passcode = BooleanAttribute(default=False)
    # a guest's join waits in the lobby until a moderator admits them (host key, bots: never)
    lobby = BooleanAttribute(default=False)
    # a scheduled start: guests cannot join before it; absent = started at creation
    starts_at = UTCDateTimeAttribute(null=True)
    # a host joined before `starts_at` and so started it early for everyone
    started_early = BooleanAttribute(null=True)
    # bots present (a bot takes no seat; at most MAX_BOTS at once); absent reads 0
    bot_count = NumberAttribute(null=True)
    # the active recording (RECORDING_ACTIVE), mirrored from its item by the same
    # transactions that change it: the one-at-a-time rule is a condition on this item,
    # and the meeting object shows it without a second read; absent: none
    recording_id = UnicodeAttribute(null=True)
    recording_mode = UnicodeAttribute(null=True)
    recording_state = UnicodeAttribute(null=True)
    # the active stream (STREAM_ACTIVE), mirrored the same way from its item
    stream_id = UnicodeAttribute(null=True)
    stream_title = UnicodeAttribute(null=True)
    stream_state = UnicodeAttribute(null=True)

    def started(self, at: datetime | None = None) -> bool:
        """Whether guests may join at `at` (now): no scheduled start, its time has come,
        or a host started the meeting early."""
        if self.starts_at is None or self.started_early:
            return True
        return (at or now()) >= self.starts_at

    def recording(self) -> dict | None:
        """The active recording as the meeting object shows it, or None."""
        if not self.recording_id:
            return None
        return {"id": self.recording_id, "mode": self.recording_mode,
                "state": self.recording_state}

    def stream(self) -> dict | None:
        """The active stream as the meeting object shows it, or None."""
        if not self.stream_id:
            return None
        return {"id": self.stream_id, "title": self.stream_title, "state": self.stream_state}

    def public(self) -> dict:
        return view_of(self, MEETING_VIEW)


MEETING_VIEW = {
    "id": Visible(lambda m: m.mid, ID_SCHEMA),
    "name": Visible(lambda m: m.name, _TEXT),
    "createdAt": Visible(lambda m: iso(m.created_at), _TIME),
    # the end is its own event (meeting-ended); a join or leave is a participant event
    "state": Visible(lambda m: m.state, {"enum": ["open", "ended"]}, announced=False),
    "locked": Visible(lambda m: bool(m.locked), _BOOL),
    "maxParticipants": Visible(lambda m: int(m.max_participants), _INT),
    "participantCount": Visible(lambda m: int(m.participant_count or 0), _INT,
                                announced=False),
    "hasPasscode": Visible(lambda m: bool(m.has_passcode), _BOOL),
    "lobby": Visible(lambda m: bool(m.lobby), _BOOL),
    "startsAt": Visible(lambda m: iso(m.starts_at), _TIME_OR_NULL),
    # true once the start has come or a host started early; the clock alone pushes
    # nothing (a page counting down turns it true itself at startsAt)
    "started": Visible(lambda m: m.started(), _BOOL),
    # the active recording, so a late joiner sees it; its changes are their own event
    # (recording-updated), never meeting-updated
    "recording": Visible(lambda m: m.recording(), {
        "type": ["object", "null"], "required": ["id", "mode", "state"],
        "properties": {"id": ID_SCHEMA, "mode": {"enum": list(RECORDING_MODES)},
                       "state": {"enum": list(RECORDING_ACTIVE)}}}, announced=False),
    # the active stream, likewise (its changes: stream-updated)
    "stream": Visible(lambda m: m.stream(), {
        "type": ["object", "null"], "required": ["id", "title", "state"],
        "properties": {"id": ID_SCHEMA, "title": _TEXT,
                       "state": {"enum": list(STREAM_ACTIVE)}}}, announced=False),
}


class Secret(Item, discriminator="Secret"):
    """Passcode and host-key hashes plus the wrong-passcode counter; never leaves the server."""

    passcode_hash = UnicodeAttribute(null=True)
    host_key_hash = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    window_start = NumberAttribute(default=0)
    # where the poll report goes when the meeting ends (optional; never shown to anyone)
    report_email = UnicodeAttribute(null=True)


ROLES = ("host", "cohost", "guest", "bot")
MODERATORS = ("host", "cohost")  # may mute, lock, end, lower hands, remove guests
# waiting: in the lobby, no seat, until admitted (active) or denied; a waiting participant
# who leaves the lobby or loses their socket for long becomes left or timeout
PARTICIPANT_STATES = ("active", "waiting", "left", "removed", "timeout", "denied")
# Why someone became host while in the meeting: the last host left, was removed or timed
# out (the longest-present co-host or guest took over), or a host handed it over.
HOST_REASONS = ("left", "removed", "timeout", "handed")


class Participant(Item, discriminator="Participant"):
    pid = UnicodeAttribute()
    mid = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute(default="guest")  # ROLES
    audio = BooleanAttribute(default=True)
    video = BooleanAttribute(default=True)
    hand = BooleanAttribute(default=False)
    screen = BooleanAttribute(default=False)
    state = UnicodeAttribute(default="active")  # PARTICIPANT_STATES
    connections = UnicodeSetAttribute(null=True)
    # when they took their seat (for one admitted from the lobby: when admitted); while
    # waiting, when they asked to join (the lobby's order)
    joined_at = UTCDateTimeAttribute()
    # epoch seconds since which the participant has had no open connection (join time
    # until the first socket opens); meaningless while `connections` is not empty
    disconnected_at = NumberAttribute(null=True)
    ticket_seq = NumberAttribute(default=0)  # before TicketCounter: its floor, never written
    # a moderator's requests (ASKS): how many so far and who asked last
    mute_requests = NumberAttribute(default=0)
    mute_requested_by = UnicodeAttribute(null=True)
    camera_off_requests = NumberAttribute(default=0)
    camera_off_requested_by = UnicodeAttribute(null=True)
    unmute_requests = NumberAttribute(default=0)
    unmute_requested_by = UnicodeAttribute(null=True)
    # HOST_REASONS: why they became host during the meeting (absent for a host by host key)
    host_reason = UnicodeAttribute(null=True)
    # a bot's kind (BOT_KINDS) and the recording it makes or stream it plays; absent for
    # people
    bot = UnicodeAttribute(null=True)
    recording_id = UnicodeAttribute(null=True)
    stream_id = UnicodeAttribute(null=True)
    # present exactly while the hand is up (older items may lack it): when it went up
    hand_raised_at = UTCDateTimeAttribute(null=True)
    # a moderator who lowered the hand (not its owner), so the owner is told; gone otherwise
    hand_lowered_by = UnicodeAttribute(null=True)

    @property
    def connected(self) -> bool:
        return bool(self.connections)

    @property
    def active(self) -> bool:
        return self.state == "active"

    @property
    def waiting(self) -> bool:
        return self.state == "waiting"

    @property
    def moderator(self) -> bool:
        return self.role in MODERATORS

    @property
    def absent_since(self) -> float:
        if self.disconnected_at is not None:
            return float(self.disconnected_at)
        return self.joined_at.timestamp()

    def public(self) -> dict:
        return view_of(self, PARTICIPANT_VIEW)


def hand_actions(raised: bool, lowered_by: str | None = None) -> list:
    """The writes that raise or lower a hand. Raising keeps the time of a hand already up
    (`if_not_exists`), so lowering must always remove it; `lowered_by` names a moderator
    who lowered someone else's hand."""
    if raised:
        return [Participant.hand.set(True),
                Participant.hand_raised_at.set(Participant.hand_raised_at | now()),
                Participant.hand_lowered_by.remove()]
    return [Participant.hand.set(False), Participant.hand_raised_at.remove(),
            Participant.hand_lowered_by.set(lowered_by) if lowered_by
            else Participant.hand_lowered_by.remove()]


@dataclass(frozen=True)
class Ask:
    """A moderator's request that only the participant's own page can carry out (browsers
    let only the owner switch a microphone or camera on or off): a counter on the
    participant, bumped with who asked, which push.py tells the participant alone as
    `event` `{"by": <pid>}`."""

    counter: str
    by: str
    event: str


ASKS = {
    "mute": Ask("mute_requests", "mute_requested_by", "mute-requested"),
    "camera-off": Ask("camera_off_requests", "camera_off_requested_by", "camera-off-requested"),
    "unmute": Ask("unmute_requests", "unmute_requested_by", "unmute-requested"),
}


def ask_actions(kind: str, by: str) -> list:
    """The writes of one request `kind` (ASKS) from moderator `by`."""
    ask = ASKS[kind]
    return [getattr(Participant, ask.counter).add(1), getattr(Participant, ask.by).set(by)]


# What everyone in a meeting may see of a participant: the participant object of the API,
# the OpenAPI schema, the fields PATCH .../participants/me takes and what push announces
# are all read from here. A settable field has the same name as its model attribute.
PARTICIPANT_VIEW = {
    "id": Visible(lambda p: p.pid, ID_SCHEMA),
    "name": Visible(lambda p: p.name, _TEXT),
    "role": Visible(lambda p: p.role, {"enum": list(ROLES)}),
    "audio": Visible(lambda p: bool(p.audio), _BOOL, settable=True),
    "video": Visible(lambda p: bool(p.video), _BOOL, settable=True),
    "hand": Visible(lambda p: bool(p.hand), _BOOL, settable=True, write=hand_actions),
    # null while the hand is down (and for a hand raised before this field existed)
    "handRaisedAt": Visible(lambda p: iso(p.hand_raised_at) if p.hand else None,
                            _TIME_OR_NULL),
    "screen": Visible(lambda p: bool(p.screen), _BOOL, settable=True),
    "connected": Visible(lambda p: p.connected, _BOOL),
    "state": Visible(lambda p: p.state, {"enum": list(PARTICIPANT_STATES)}),
    "joinedAt": Visible(lambda p: iso(p.joined_at), _TIME),
    # a bot's kind and its recording's or stream's id; null for people (and the other kind)
    "bot": Visible(lambda p: p.bot, {"enum": [*BOT_KINDS, None]}),
    "recordingId": Visible(lambda p: p.recording_id, {**ID_SCHEMA, "type": ["string", "null"]}),
    "streamId": Visible(lambda p: p.stream_id, {**ID_SCHEMA, "type": ["string", "null"]}),
}
SETTABLE = tuple(name for name, field in PARTICIPANT_VIEW.items() if field.settable)


def settable_actions(changes: dict) -> list:
    """The update actions for a valid body of settable fields (PATCH .../participants/me)."""
    actions = []
    for name, value in changes.items():
        field = PARTICIPANT_VIEW[name]
        actions += field.write(value) if field.write else [getattr(Participant, name).set(value)]
    return actions


class Ticket(Item, discriminator="Ticket"):
    tid = UnicodeAttribute()
    sender = UnicodeAttribute(attr_name="from")
    to = UnicodeAttribute()
    kind = UnicodeAttribute()  # description | candidates | bye
    data = JSONAttribute(null=True)
    sent_at = UTCDateTimeAttribute()

    @property
    def mid(self) -> str:
        return mid_of(self.pk)

    def public(self) -> dict:
        return {"id": self.tid, "from": self.sender, "to": self.to, "kind": self.kind,
                "data": self.data, "sentAt": iso(self.sent_at)}


class TicketCounter(Item, discriminator="TicketCounter"):
    """The last ticket number given to one recipient.

    Its own item, not an attribute of the participant: the transaction that takes a
    number (signaling's store) would otherwise make the recipient's own writes (a socket
    opening, a mute toggle) fail with TransactionConflict while a ticket to them is stored.
    """

    seq = NumberAttribute()


class TicketKey(Item, discriminator="TicketKey"):
    """The ticket a sender stored under an idempotency key: a repeat finds it here.
    Expires with its ticket; an expired one counts as absent."""

    tid = UnicodeAttribute()
    to = UnicodeAttribute()

    def live(self, at: datetime) -> bool:
        return self.expires is None or self.expires > at


class Message(Item, discriminator="Message"):
    """A chat message to everyone, or a direct message (`to`) only its sender and
    recipient ever see."""

    cid = UnicodeAttribute()
    sender = UnicodeAttribute(attr_name="from")
    sender_name = UnicodeAttribute()
    to = UnicodeAttribute(null=True)
    to_name = UnicodeAttribute(null=True)
    text = UnicodeAttribute()
    sent_at = UTCDateTimeAttribute()

    @property
    def mid(self) -> str:
        return mid_of(self.pk)

    def public(self) -> dict:
        return {"id": self.cid, "from": self.sender, "fromName": self.sender_name,
                "to": self.to, "toName": self.to_name, "text": self.text,
                "sentAt": iso(self.sent_at)}

    @classmethod
    def visible_to(cls, pid: str):
        """Condition: a message `pid` may read (to everyone, or a DM from or to them)."""
        return cls.to.does_not_exist() | (cls.to == pid) | (cls.sender == pid)


# The reactions a participant can send, as the Unicode strings clients send and show.
REACTION_EMOJI = (
    "\N{THUMBS UP SIGN}",                                # 👍
    "\N{CLAPPING HANDS SIGN}",                           # 👏
    "\N{FACE WITH TEARS OF JOY}",                        # 😂
    "\N{HEAVY BLACK HEART}\N{VARIATION SELECTOR-16}",    # ❤️ (U+2764 shown as emoji)
    "\N{PARTY POPPER}",                                  # 🎉
    "\N{FACE WITH OPEN MOUTH}",                          # 😮
)


class Reaction(Item, discriminator="Reaction"):
    """An emoji shown for a moment over the sender's tile: pushed to the others once and
    never read back, so it lives only REACTION_TTL (and until the meeting's purge)."""

    rid = UnicodeAttribute()
    sender = UnicodeAttribute(attr_name="from")
    emoji = UnicodeAttribute()
    sent_at = UTCDateTimeAttribute()

    @property
    def mid(self) -> str:
        return mid_of(self.pk)

    def public(self) -> dict:
        return {"id": self.rid, "from": self.sender, "emoji": self.emoji,
                "sentAt": iso(self.sent_at)}


class Recording(Item, discriminator="Recording"):
    """A recorder bot's job: what to record, its state, and the files it stored.

    Only recording_store changes it, in the same transaction as the meeting's mirror
    of it (Meeting.recording_*); `files` are written by its own bot."""

    active_states = RECORDING_ACTIVE
    rid = UnicodeAttribute()
    mode = UnicodeAttribute()  # RECORDING_MODES
    reserve = BooleanAttribute(default=True)  # a leaver keeps their place in the mix
    state = UnicodeAttribute(default="starting")  # RECORDING_STATES
    started_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)  # the bot began to record
    ended_at = UTCDateTimeAttribute(null=True)  # recording stopped (asked to, or by itself)
    files = JSONAttribute(null=True)  # [{file, key, status, message, size?}]; key: in S3
    error = UnicodeAttribute(null=True)
    callback_url = UnicodeAttribute(null=True)  # shown to moderators and its bot only

    @property
    def mid(self) -> str:
        return mid_of(self.pk)

    @property
    def active(self) -> bool:
        return self.state in RECORDING_ACTIVE

    def public(self, private: bool = False,
               download_url: Callable[[str, str], str | None] | None = None) -> dict:
        """The recording as the API shows it. `private`: with its callbackUrl (moderators,
        its bot); `download_url(key, file)`: a link for each stored file of a done one."""
        view = {"id": self.rid, "mode": self.mode, "reserve": bool(self.reserve),
                "state": self.state, "startedBy": self.started_by,
                "createdAt": iso(self.created_at)}
        if self.started_at is not None:
            view["startedAt"] = iso(self.started_at)
        if self.ended_at is not None:
            view["endedAt"] = iso(self.ended_at)
        view["files"] = [self._file(f, download_url) for f in self.files or ()]
        if self.error:
            view["error"] = self.error
        if private and self.callback_url:
            view["callbackUrl"] = self.callback_url
        return view

    def _file(self, stored: dict, download_url) -> dict:
        shown = {"file": stored["file"], "status": stored["status"],
                 "message": stored.get("message", "")}
        if stored.get("size") is not None:
            shown["size"] = stored["size"]
        if download_url is not None and self.state == "done" and stored["status"] == 0:
            url = download_url(stored["key"], stored["file"])
            if url:
                shown["downloadUrl"] = url
        return shown


class Stream(Item, discriminator="Stream"):
    """Media a streamer bot plays into the meeting: its source, its state, and where it is.

    Only stream_store changes its state, in the same transaction as the meeting's mirror of
    it (Meeting.stream_*); `requested` is a moderator's last pause/resume/seek/stop for the
    bot to carry out, `position` (seconds) what the bot last reported, so a restarted bot
    goes on from there. `source` is shown to nobody but its bot (as a link it can read)."""

    active_states = STREAM_ACTIVE
    sid = UnicodeAttribute()
    mode = UnicodeAttribute()  # STREAM_MODES
    title = UnicodeAttribute()
    source = UnicodeAttribute()  # "upload:<id>", or an http(s)/rtmp(s) URL
    source_key = UnicodeAttribute(null=True)  # an upload's S3 key
    loop = BooleanAttribute(default=False)
    resume = BooleanAttribute(default=True)
    state = UnicodeAttribute(default="starting")  # STREAM_STATES
    position = NumberAttribute(default=0)
    duration = NumberAttribute(null=True)  # seconds; absent while unknown, and for live
    error = UnicodeAttribute(null=True)
    requested = JSONAttribute(null=True)  # {action, position?, at}
    started_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    ended_at = UTCDateTimeAttribute(null=True)  # it reached ended or failed
    progress_at = UTCDateTimeAttribute(null=True)  # the bot's last stored report
    bot_id = UnicodeAttribute(null=True)  # the participant playing it (its latest bot)

    @property
    def mid(self) -> str:
        return mid_of(self.pk)

    @property
    def active(self) -> bool:
        return self.state in STREAM_ACTIVE

    @property
    def source_kind(self) -> str:
        return "upload" if self.source.startswith("upload:") else "url"

    def public(self, source_url: str | None = None) -> dict:
        """The stream as the API shows it; `source_url` only for its own bot."""
        view = {"id": self.sid, "mode": self.mode, "title": self.title, "state": self.state,
                "position": _number(self.position)}
        if self.duration is not None:
            view["duration"] = _number(self.duration)
        view["loop"] = bool(self.loop)
        if self.error:
            view["error"] = self.error
        if self.requested:
            view["requested"] = self.requested
        view.update(startedBy=self.started_by, createdAt=iso(self.created_at))
        if self.ended_at is not None:
            view["endedAt"] = iso(self.ended_at)
        view["sourceKind"] = self.source_kind
        if self.bot_id:
            view["botId"] = self.bot_id
        if source_url is not None:
            view["sourceUrl"] = source_url
        return view


def _number(value) -> int | float:
    """A stored number as JSON shows it: 12 stays 12, 12.5 stays 12.5."""
    value = float(value or 0)
    return int(value) if value.is_integer() else value


class Upload(Item, discriminator="Upload"):
    """A file a moderator may upload for a stream: where it goes in S3 and what it was
    declared to be (checked again against the stored object when a stream uses it)."""

    upload_id = UnicodeAttribute()
    file_name = UnicodeAttribute()
    key = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()  # as declared
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


MAX_POLL_OPTIONS = 10
POLL_RESULTS = ("live", "closed")  # counts shown while open to everyone / to moderators only


def option_id(index: int) -> str:
    return f"o{index}"


class Poll(Item, discriminator="Poll"):
    """A moderator's question with 2..MAX_POLL_OPTIONS options. Counts are attributes of
    the poll (`count_<i>`, `voters`), bumped with `ADD` in the transaction that stores a
    vote; the poll never records who voted (Vote items do, and are never pushed)."""

    poll_id = UnicodeAttribute()
    created_by = UnicodeAttribute()
    question = UnicodeAttribute()
    options = JSONAttribute()  # [text, ...]; option i has the id option_id(i)
    multiple = BooleanAttribute(default=False)
    anonymous = BooleanAttribute(default=False)
    results = UnicodeAttribute(default="live")  # POLL_RESULTS
    state = UnicodeAttribute(default="open")  # open | closed
    created_at = UTCDateTimeAttribute()
    closed_at = UTCDateTimeAttribute(null=True)
    voters = NumberAttribute(default=0)
    count_0 = NumberAttribute(null=True)
    count_1 = NumberAttribute(null=True)
    count_2 = NumberAttribute(null=True)
    count_3 = NumberAttribute(null=True)
    count_4 = NumberAttribute(null=True)
    count_5 = NumberAttribute(null=True)
    count_6 = NumberAttribute(null=True)
    count_7 = NumberAttribute(null=True)
    count_8 = NumberAttribute(null=True)
    count_9 = NumberAttribute(null=True)

    @property
    def mid(self) -> str:
        return mid_of(self.pk)

    @property
    def option_ids(self) -> list[str]:
        return [option_id(i) for i in range(len(self.options))]

    def counts(self) -> list[int]:
        return [int(getattr(self, f"count_{i}") or 0) for i in range(len(self.options))]

    def count_attribute(self, oid: str):
        return getattr(Poll, f"count_{self.option_ids.index(oid)}")

    def counts_hidden(self, moderator: bool) -> bool:
        """Results "closed": while the poll is open only moderators see the counts."""
        return self.results == "closed" and self.state == "open" and not moderator

    def public(self, moderator: bool, my_vote: list[str] | None = None) -> dict:
        """The poll as one participant sees it (`moderator`: a host or co-host)."""
        return {"id": self.poll_id, "question": self.question,
                "options": [{"id": option_id(i), "text": t} for i, t in enumerate(self.options)],
                "multiple": bool(self.multiple), "anonymous": bool(self.anonymous),
                "results": self.results, "state": self.state,
                "createdAt": iso(self.created_at), "closedAt": iso(self.closed_at),
                "counts": None if self.counts_hidden(moderator) else self.counts(),
                "voters": int(self.voters or 0), "myVote": my_vote}


class Vote(Item, discriminator="Vote"):
    """One participant's vote in one poll (key: poll and participant, written only if
    absent). Read back for the voter's own `myVote` and, for a named poll, the report;
    never pushed, never shown to anyone for an anonymous poll."""

    poll_id = UnicodeAttribute()
    pid = UnicodeAttribute()
    name = UnicodeAttribute()
    choices = JSONAttribute()  # option ids, in the poll's order
    voted_at = UTCDateTimeAttribute()


class Connection(Item, discriminator="Connection"):
    """Lookup from a WebSocket connection id to its participant, for `$disconnect`."""

    mid = UnicodeAttribute()
    pid = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    @property
    def connection_id(self) -> str:
        return connection_id_of(self.pk)


class Absence(Item, discriminator="Absence"):
    """A participant who had no open connection at `since`: the minute sweep's to-do list.

    Written when someone joins and when their last socket closes, never updated: whether
    they came back is read off the participant when the absence falls due.
    """

    mid = UnicodeAttribute()
    pid = UnicodeAttribute()
    since = NumberAttribute()

    @classmethod
    def of(cls, p: Participant, since: float) -> "Absence":
        return cls(ABSENCE_PK, absence_sk(since, p.mid, p.pid), mid=p.mid, pid=p.pid,
                   since=since, expires=datetime.fromtimestamp(since, UTC) + ABSENCE_TTL)


# --- writes that may lose a race ----------------------------------------------------------

def connection():
    """The models' own PynamoDB connection: one HTTP client for every call, transactions
    included (and the one a benchmark counts the calls of). PynamoDB hands it out only
    through `_get_connection`; this is the one place that reaches for it."""
    return Item._get_connection().connection


def transaction() -> TransactWrite:
    return TransactWrite(connection=connection())


def condition_failed(err: PynamoDBException) -> bool:
    """Whether a write was refused because a condition of it did not hold (a lost race or
    a state that no longer allows it), as opposed to DynamoDB failing."""
    code = err.cause_response_code
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = getattr(err, "cancellation_reasons", [])
        return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)
    return False


def conflicted(err: PynamoDBException) -> bool:
    """Whether a transaction was cancelled because another one was writing the same item
    at that moment (worth a retry after a little jitter), as opposed to a condition."""
    return any(r is not None and r.code == "TransactionConflict"
               for r in getattr(err, "cancellation_reasons", None) or [])


# --- the table itself (local stack and tests; in AWS infra/parley.yaml) -------------------

def create_table() -> bool:
    """Create the table with its stream and TTL if missing; True when it was created now."""
    if Item.exists():
        return False
    Item.create_table(wait=True)
    return True


def stream_arn() -> str | None:
    """The table's latest stream ARN (the local stack's poller reads it)."""
    return Item.describe_table().get("LatestStreamArn")
