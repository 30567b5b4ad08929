"""Stream record → WebSocket events: the one place that decides who hears about a change.

`events_for` reads like a table (item type and change → audience and event); `Sender`
resolves an audience to connections and sends, forgetting connections that are gone.
Two triggers use it: the table's stream for every change, and `hand_over`, the fast path
a ticket takes straight from the handler that stored it.

The lobby: a waiting participant is in no audience read from the roster but the lobby's
own (`lobby`), which hears only whether a moderator is present (`lobby-status`) and the
end of the meeting; everything else they get is addressed to them alone (`admitted`,
`denied`). Moderators hear who comes and goes in the lobby (`lobby-joined`,
`lobby-left`). Two events are `Deferred`: their body is read when they are sent.
Every change of a recording's state is told to everyone present (`recording-updated`),
and every change of a stream that anyone sees (`stream-updated`: state, a moderator's
request, its bot's progress).
"""

import json
import logging
from dataclasses import dataclass

from chalice import WebsocketDisconnectedError
from pynamodb.exceptions import DoesNotExist

from . import connections, roster, turn
from .models import (
    ASKS,
    MEETING_VIEW,
    META_SK,
    PARTICIPANT_VIEW,
    Item,
    Meeting,
    Message,
    Participant,
    Poll,
    Reaction,
    Recording,
    Stream,
    Ticket,
    announced_change,
    meeting_pk,
    participant_sk,
)

log = logging.getLogger("parley")


# Groups of a meeting an audience can be, read from the roster when sending.
PRESENT = "present"          # everyone in the meeting (roster.present); never the lobby
MODERATORS = "moderators"    # hosts and co-hosts present
GUESTS = "guests"            # everyone present but hosts and co-hosts
WAITING = "waiting"          # the lobby (roster.waiting)
ALL = "all"                  # present and waiting: the end of the meeting

_GROUPS = {
    PRESENT: roster.present,
    MODERATORS: lambda people: [p for p in roster.present(people) if p.moderator],
    GUESTS: lambda people: [p for p in roster.present(people) if not p.moderator],
    WAITING: roster.waiting,
    ALL: lambda people: roster.present(people) + roster.waiting(people),
}


@dataclass(frozen=True)
class Audience:
    """Who receives an event: the participants `only` names (one, or a few), or the
    meeting's `group` (everyone present unless said otherwise) but `exclude`."""

    mid: str
    only: frozenset[str] | None = None
    exclude: str | None = None
    group: str = PRESENT


def just(mid: str, *pids: str) -> Audience:
    """The participants `pids` of meeting `mid`, and nobody else."""
    return Audience(mid, only=frozenset(pids))


def moderators(mid: str) -> Audience:
    return Audience(mid, group=MODERATORS)


def lobby(mid: str) -> Audience:
    """Everyone waiting in the lobby of meeting `mid`."""
    return Audience(mid, group=WAITING)


@dataclass(frozen=True)
class Deferred:
    """An event whose body is read when it is sent, because it tells the state of the
    meeting at that moment, not a record's: `lobby-status` (whether a moderator is
    present; `pid`: the participant whose coming or going prompted it, if any) and
    `admitted` (for `pid`: everything a join answers)."""

    event: str
    mid: str
    pid: str | None = None


def lobby_status(mid: str, prompted_by: str | None = None) -> Deferred:
    """Whether a moderator is present, for the lobby. `prompted_by`: a participant who
    became or stopped being a moderator present; if another moderator is present the
    answer did not change, and nothing is sent."""
    return Deferred("lobby-status", mid, prompted_by)


def admitted(mid: str, pid: str) -> Deferred:
    return Deferred("admitted", mid, pid)


def _decode(image: dict | None) -> Item | None:
    return Item.from_raw_data(image) if image else None


def events_for(name: str, new: Item | None, old: Item | None) -> list[tuple[Audience, dict]]:
    if name == "REMOVE" or new is None:
        return []  # TTL expiry and purges push nothing
    inserted = name == "INSERT"
    if isinstance(new, Ticket):
        return [(just(new.mid, new.to), ticket_event(new))] if inserted else []
    if isinstance(new, Message):
        if not inserted:
            return []
        # a direct message: its sender (their other tabs) and recipient, nobody else
        told = just(new.mid, new.sender, new.to) if new.to else Audience(new.mid)
        return [(told, {"event": "message", "message": new.public()})]
    if isinstance(new, Reaction):
        # the sender's page shows its own reaction at once
        return [(Audience(new.mid, exclude=new.sender),
                 {"event": "reaction", "reaction": new.public()})] if inserted else []
    if isinstance(new, Poll):
        return _poll_events(new, None if inserted else old)
    if isinstance(new, Recording):
        # everyone present must know they are recorded; a bot stops when it hears
        # stopping. Never the callback URL or download links.
        if inserted or old is None or new.state != old.state:
            return [(Audience(new.mid), {"event": "recording-updated",
                                         "recording": new.public()})]
        return []
    if isinstance(new, Stream):
        # everyone present sees its tile (title, state, where it is); its bot obeys the
        # requests. Never the source.
        if inserted or old is None or new.public() != old.public():
            return [(Audience(new.mid), {"event": "stream-updated", "stream": new.public()})]
        return []
    if isinstance(new, Participant):
        return _participant_events(new, None if inserted else old)
    if isinstance(new, Meeting):
        return _meeting_events(new, None if inserted else old)
    return []


def _poll_events(new: Poll, old: Poll | None):
    """A poll created, closed or voted in: `poll` events to everyone present, with counts
    only for whom they are visible (results "closed": moderators alone while it is open).
    A vote in such a poll is news to moderators only. Pushed polls carry `myVote: null`
    (the voter's page has its vote from the answer); they never say who voted what."""
    mid = new.mid

    def told(audience, moderator):
        return audience, {"event": "poll", "poll": new.public(moderator)}

    closed_now = old is not None and old.state == "open" and new.state == "closed"
    voted = old is not None and (new.voters or 0) != (old.voters or 0)
    if old is not None and not closed_now and not (voted and new.state == "open"):
        return []
    if not new.counts_hidden(moderator=False):
        return [told(Audience(mid), True)]
    if voted and not closed_now:
        return [told(moderators(mid), True)]
    return [told(moderators(mid), True), told(Audience(mid, group=GUESTS), False)]


def _participant_events(new: Participant, old: Participant | None):
    if new.waiting or (old is not None and old.waiting):
        return _lobby_events(new, old)
    events = _roster_events(new, old)
    if _moderating(new) != _moderating(old):  # a host or co-host came, went, or was made
        events.append((lobby(new.mid), lobby_status(new.mid, new.pid)))
    return events


def _moderating(p: Participant | None) -> bool:
    return p is not None and p.active and p.moderator


# lobby-left's reason by the state someone leaves the lobby for
LOBBY_EXITS = {"active": "admitted", "denied": "denied"}  # anything else: "left"


def _lobby_events(new: Participant, old: Participant | None):
    """Someone joined the lobby, opened a socket in it, or left it (admitted, denied,
    left, timed out)."""
    mid, pid = new.mid, new.pid
    if old is None:
        return [(moderators(mid), {"event": "lobby-joined", "participant": new.public()})]
    if new.waiting:
        opened = set(new.connections or ()) - set(old.connections or ())
        return [(just(mid, pid), lobby_status(mid))] if opened else []
    view = new.public()
    events = [(moderators(mid), {"event": "lobby-left", "participant": view,
                                 "reason": LOBBY_EXITS.get(new.state, "left")})]
    if new.active:  # they first, so their page is in the room before anyone sends to it
        events += [(just(mid, pid), admitted(mid, pid)),
                   (Audience(mid, exclude=pid), {"event": "participant-joined",
                                                 "participant": view})]
    elif new.state == "denied":
        events.append((just(mid, pid), {"event": "denied"}))
    return events


def _roster_events(new: Participant, old: Participant | None):
    """Someone in the meeting: joined, changed, left."""
    others = Audience(new.mid, exclude=new.pid)
    view = new.public()
    if old is None:
        return [(others, {"event": "participant-joined", "participant": view})]
    if old.active and not new.active:
        events = [(others, {"event": "participant-left", "participant": view,
                            "reason": new.state})]
        if new.state == "removed":
            events.append((just(new.mid, new.pid), {"event": "removed"}))
        return events
    if not new.active:
        return []
    events = []
    if announced_change(PARTICIPANT_VIEW, view, old.public()):
        # a change the participant made is news to the others; one a moderator made (a
        # hand lowered, a role given) is news to the participant too
        told = Audience(new.mid) if _changed_by_moderator(new, old) else others
        events.append((told, {"event": "participant-updated", "participant": view}))
    if new.role == "host" and old.role != "host":
        events.append((Audience(new.mid), {"event": "host-changed", "host": new.pid,
                                           "reason": new.host_reason or "handed"}))
    for ask in ASKS.values():  # a moderator's request: to the participant alone
        if (getattr(new, ask.counter) or 0) > (getattr(old, ask.counter) or 0):
            events.append((just(new.mid, new.pid),
                           {"event": ask.event, "by": getattr(new, ask.by)}))
    return events


def _changed_by_moderator(new: Participant, old: Participant) -> bool:
    """A role given or taken (their page learns its powers), or a hand someone else
    lowered."""
    return new.role != old.role or bool(old.hand and not new.hand and new.hand_lowered_by)


def _meeting_events(new: Meeting, old: Meeting | None):
    everyone = Audience(new.mid)
    if old is None:
        return []
    if old.state == "open" and new.state == "ended":  # the lobby too: nobody will come
        return [(Audience(new.mid, group=ALL), {"event": "meeting-ended",
                                                "meeting": new.public()})]
    view = new.public()
    if announced_change(MEETING_VIEW, view, old.public()):
        return [(everyone, {"event": "meeting-updated", "meeting": view})]
    return []


class Sender:
    """Sends events through the API Gateway management API (`app.websocket_api`)."""

    def __init__(self, websocket_api, s):
        self._api = websocket_api
        self._settings = s

    def _configure(self) -> None:
        if self._settings.ws_api_id:
            self._api.configure_from_api_id(self._settings.ws_api_id, self._settings.ws_stage)

    def recipients(self, audience: Audience) -> list[Participant]:
        if audience.only is not None:
            keys = [(meeting_pk(audience.mid), participant_sk(pid))
                    for pid in sorted(audience.only)]
            if len(keys) == 1:
                try:
                    return [Participant.get(*keys[0])]
                except DoesNotExist:
                    return []
            return sorted(Participant.batch_get(keys), key=lambda p: p.pid) if keys else []
        return [p for p in _GROUPS[audience.group](roster.members(audience.mid))
                if p.pid != audience.exclude]

    def send(self, audience: Audience, event: dict | Deferred) -> int:
        """Send to every connection of the audience; returns how many frames went out.
        A Deferred event is read only if someone is there to hear it."""
        recipients = self.recipients(audience)
        if isinstance(event, Deferred):
            if not any(p.connections for p in recipients):
                return 0
            event = self.body(event)
            if event is None:
                return 0
        return self.send_to(recipients, event)

    def body(self, deferred: Deferred) -> dict | None:
        """A Deferred event's body as of now (strongly consistent reads); None for an
        admission whose participant is no longer in the meeting."""
        people = roster.members(deferred.mid, consistent=True)
        here = roster.present(people)
        if deferred.event == "lobby-status":
            if any(p.moderator for p in here if p.pid != deferred.pid) and deferred.pid:
                return None  # another moderator is here: nothing changed for the lobby
            return {"event": "lobby-status", "hostPresent": any(p.moderator for p in here)}
        me = next((p for p in here if p.pid == deferred.pid), None)
        if me is None:
            return None
        try:
            meeting = Meeting.get(meeting_pk(deferred.mid), META_SK, consistent_read=True)
        except DoesNotExist:
            return None
        # what a join answers, but the token and wsUrl the page already has
        return {"event": "admitted", "participant": me.public(),
                "participants": [p.public() for p in here if p.pid != me.pid],
                "meeting": meeting.public(),
                "iceServers": turn.ice_servers(self._settings, me.pid)}

    def send_to(self, participants: list[Participant], event: dict) -> int:
        """Send to every open connection of `participants` (as read just now), forgetting
        the ones API Gateway says are gone; returns how many frames went out."""
        self._configure()
        frame = json.dumps(event, separators=(",", ":"))
        sent = 0
        for participant in participants:
            for cid in sorted(participant.connections or ()):
                try:
                    self._api.send(cid, frame)
                    sent += 1
                except WebsocketDisconnectedError:
                    log.info("connection %s is gone; forgetting it", cid)
                    connections.forget(cid, participant.mid, participant.pid)
        return sent


def ticket_event(ticket: Ticket) -> dict:
    return {"event": "ticket", "ticket": ticket.public()}


def hand_over(sender: Sender, ticket: Ticket, recipient: Participant) -> int:
    """The fast path: a ticket just stored goes straight to its recipient's open sockets.

    The stream pushes the same ticket again a moment later (clients drop it by id), so a
    direct send that fails for any reason is only logged: the stream and replay still
    deliver it.
    """
    try:
        return sender.send_to([recipient], ticket_event(ticket))
    except Exception:
        log.warning("direct send of ticket %s to %s failed; the stream delivers it",
                    ticket.tid, ticket.to, exc_info=True)
        return 0


def handle_stream(event, sender: Sender) -> dict:
    """Push every record of a stream batch; a record that fails is logged and skipped.

    Skipping is safe: tickets are numbered per recipient, so a client that misses one
    sees the gap and replays it, and every other event is state the client re-reads.
    """
    records = event.to_dict().get("Records", []) if hasattr(event, "to_dict") else event["Records"]
    counts = {"records": 0, "frames": 0, "failed": 0}
    for record in records:
        counts["records"] += 1
        try:
            change = record["dynamodb"]
            new, old = _decode(change.get("NewImage")), _decode(change.get("OldImage"))
            for audience, payload in events_for(record["eventName"], new, old):
                counts["frames"] += sender.send(audience, payload)
        except Exception:
            counts["failed"] += 1
            log.exception("skipping stream record %s", record.get("eventID"))
    return counts
