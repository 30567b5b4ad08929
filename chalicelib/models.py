"""The single DynamoDB table: every item of a meeting lives in partition `M#<mid>`.

Item types share the table through a discriminator attribute `type`, so a stream image
or a partition query decodes straight into the right model class.
"""

from datetime import UTC, datetime, timedelta

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
from pynamodb.models import Model

from .config import settings

TICKET_TTL = timedelta(hours=1)
ITEM_TTL_MARGIN = timedelta(days=1)


def now() -> datetime:
    return datetime.now(UTC)


def meeting_pk(mid: str) -> str:
    return f"M#{mid}"


def participant_sk(pid: str) -> str:
    return f"P#{pid}"


def ticket_sk(to: str, tid: str) -> str:
    return f"T#{to}#{tid}"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Item(Model):
    """Base of every item; `expires` is the TTL backstop, the autoclear cron the real purge."""

    class Meta:
        table_name = settings().table
        region = settings().region
        host = settings().dynamodb_endpoint
        max_retry_attempts = 3

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    item_type = DiscriminatorAttribute(attr_name="type")
    expires = TTLAttribute(null=True)


class Meeting(Item, discriminator="Meeting"):
    mid = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    state = UnicodeAttribute(default="open")  # open | ended
    locked = BooleanAttribute(default=False)
    max_participants = NumberAttribute(default=6)
    participant_count = NumberAttribute(default=0)
    has_passcode = BooleanAttribute(default=False)

    def public(self) -> dict:
        return {
            "id": self.mid,
            "name": self.name,
            "createdAt": iso(self.created_at),
            "state": self.state,
            "locked": bool(self.locked),
            "maxParticipants": int(self.max_participants),
            "participantCount": int(self.participant_count or 0),
            "hasPasscode": bool(self.has_passcode),
        }


class Secret(Item, discriminator="Secret"):
    """Passcode and host-key hashes plus the wrong-passcode counter; never leaves the server."""

    passcode_hash = UnicodeAttribute(null=True)
    host_key_hash = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    window_start = NumberAttribute(default=0)


class Participant(Item, discriminator="Participant"):
    pid = UnicodeAttribute()
    mid = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute(default="guest")  # host | guest | bot
    audio = BooleanAttribute(default=True)
    video = BooleanAttribute(default=True)
    hand = BooleanAttribute(default=False)
    screen = BooleanAttribute(default=False)
    state = UnicodeAttribute(default="active")  # active | left | removed | timeout
    connections = UnicodeSetAttribute(null=True)
    joined_at = UTCDateTimeAttribute()
    disconnected_at = NumberAttribute(null=True)
    ticket_seq = NumberAttribute(default=0)
    mute_requests = NumberAttribute(default=0)
    mute_requested_by = UnicodeAttribute(null=True)

    @property
    def connected(self) -> bool:
        return bool(self.connections)

    @property
    def active(self) -> bool:
        return self.state == "active"

    def public(self) -> dict:
        return {
            "id": self.pid,
            "name": self.name,
            "role": self.role,
            "audio": bool(self.audio),
            "video": bool(self.video),
            "hand": bool(self.hand),
            "screen": bool(self.screen),
            "connected": self.connected,
            "state": self.state,
            "joinedAt": iso(self.joined_at),
        }


class Ticket(Item, discriminator="Ticket"):
    tid = UnicodeAttribute()
    sender = UnicodeAttribute(attr_name="from")
    to = UnicodeAttribute()
    kind = UnicodeAttribute()  # description | candidates | bye
    data = JSONAttribute(null=True)
    sent_at = UTCDateTimeAttribute()

    def public(self) -> dict:
        return {"id": self.tid, "from": self.sender, "to": self.to, "kind": self.kind,
                "data": self.data, "sentAt": iso(self.sent_at)}


class Message(Item, discriminator="Message"):
    cid = UnicodeAttribute()
    sender = UnicodeAttribute(attr_name="from")
    sender_name = UnicodeAttribute()
    text = UnicodeAttribute()
    sent_at = UTCDateTimeAttribute()

    def public(self) -> dict:
        return {"id": self.cid, "from": self.sender, "fromName": self.sender_name,
                "text": self.text, "sentAt": iso(self.sent_at)}


class Connection(Item, discriminator="Connection"):
    """Lookup from a WebSocket connection id to its participant, for `$disconnect`."""

    mid = UnicodeAttribute()
    pid = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    @property
    def connection_id(self) -> str:
        return self.pk[2:]


def create_table(wait: bool = True) -> bool:
    """Create the table with its stream and TTL if missing (local stack and tests).

    In AWS the table comes from infra/parley.yaml with the same key schema.
    Returns True when it was created now.
    """
    if Item.exists():
        return False
    conn = Item._get_connection().connection
    client = conn.client
    client.create_table(
        TableName=Item.Meta.table_name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    if wait:
        client.get_waiter("table_exists").wait(TableName=Item.Meta.table_name)
    client.update_time_to_live(
        TableName=Item.Meta.table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
    )
    return True


def stream_arn() -> str:
    """The table's latest stream ARN (the local stack's poller reads it)."""
    client = Item._get_connection().connection.client
    return client.describe_table(TableName=Item.Meta.table_name)["Table"]["LatestStreamArn"]
