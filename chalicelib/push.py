"""Stream record → WebSocket events: the one place that decides who hears about a change.

`events_for` reads like a table (item type and change → audience and event); `Sender`
resolves an audience to connections and sends, forgetting connections that are gone.
Two triggers use it: the table's stream for every change, and `hand_over`, the fast path
a ticket takes straight from the handler that stored it.
"""

import json
import logging
from dataclasses import dataclass

from chalice import WebsocketDisconnectedError
from pynamodb.exceptions import DoesNotExist

from . import connections, roster
from .models import (
    ASKS,
    MEETING_VIEW,
    PARTICIPANT_VIEW,
    Item,
    Meeting,
    Message,
    Participant,
    Reaction,
    Ticket,
    announced_change,
    meeting_pk,
    participant_sk,
)

log = logging.getLogger("parley")


@dataclass(frozen=True)
class Audience:
    """Who receives an event: the participants `only` names (one, or a few), or the whole
    meeting but `exclude`, or the whole meeting."""

    mid: str
    only: frozenset[str] | None = None
    exclude: str | None = None


def just(mid: str, *pids: str) -> Audience:
    """The participants `pids` of meeting `mid`, and nobody else."""
    return Audience(mid, only=frozenset(pids))


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
    if isinstance(new, Participant):
        return _participant_events(new, None if inserted else old)
    if isinstance(new, Meeting):
        return _meeting_events(new, None if inserted else old)
    return []


def _participant_events(new: Participant, old: Participant | None):
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
    if old.state == "open" and new.state == "ended":
        return [(everyone, {"event": "meeting-ended", "meeting": new.public()})]
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
        return [p for p in roster.present(roster.members(audience.mid))
                if p.pid != audience.exclude]

    def send(self, audience: Audience, event: dict) -> int:
        """Send to every connection of the audience; returns how many frames went out."""
        return self.send_to(self.recipients(audience), event)

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
