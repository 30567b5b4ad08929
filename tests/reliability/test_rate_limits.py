"""Rate limits over real HTTP, on a stack of their own (conftest.limited_stack: joins 3 per
address, tickets 5, chat 3 and reactions 3 per participant, refilling one token per 1000 s,
so every refusal is deterministic). A refused request gets 429 `rate_limited` with
Retry-After and the site's CORS headers, and stores nothing; other addresses and
participants go on.

Each test joins from its own loopback address (127.0.0.0/8 all reaches this machine), so
the per-address join budget of one test never spends another's.
"""

from tests.api.stack_client import TIMEOUT
from tests.fixtures.table import Store

from .conftest import SITE_ORIGIN, request


class Client:
    """REST calls to one stack from one source address."""

    def __init__(self, stack, source: str):
        self.api, self.source = stack.api, source

    def __call__(self, method: str, path: str, body=None, token: str | None = None):
        return request(self.api + path, method, body, {"Origin": SITE_ORIGIN}, token, self.source)

    def meeting(self) -> str:
        reply = self("POST", "/meetings", {"name": "Limits", "maxParticipants": 8})
        assert reply.status == 201, reply.body
        return reply.json["meeting"]["id"]

    def join(self, mid: str, name: str) -> dict:
        reply = self("POST", f"/meetings/{mid}/join", {"name": name})
        assert reply.status == 200, reply.body
        return {"pid": reply.json["participant"]["id"], "token": reply.json["token"]}


def _limited(reply) -> int:
    """Asserts a clean 429 and returns its Retry-After in seconds."""
    assert reply.status == 429, reply.body
    assert reply.error_code == "rate_limited"
    assert reply.headers["access-control-allow-origin"] == SITE_ORIGIN
    retry_after = int(reply.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


def test_joins_are_limited_per_address_and_a_refused_join_takes_no_seat(limited_stack):
    store = Store(limited_stack)
    first, other = Client(limited_stack, "127.0.0.2"), Client(limited_stack, "127.0.0.3")
    mid = first.meeting()
    for n in range(3):
        first.join(mid, f"guest {n}")
    before = store.partition(mid)

    retry_after = _limited(first("POST", f"/meetings/{mid}/join", {"name": "one too many"}))

    assert store.partition(mid) == before
    assert first("GET", f"/meetings/{mid}").json["meeting"]["participantCount"] == 3
    other.join(mid, "from another address")  # another address has its own budget
    assert first("GET", f"/meetings/{mid}").json["meeting"]["participantCount"] == 4
    assert retry_after > TIMEOUT  # the bucket refills slowly: still refused now
    _limited(first("POST", f"/meetings/{mid}/join", {"name": "still too many"}))


def test_tickets_are_limited_per_participant_and_a_refused_ticket_is_not_stored(limited_stack):
    store = Store(limited_stack)
    client = Client(limited_stack, "127.0.0.4")
    mid = client.meeting()
    ada, bob, cy = (client.join(mid, name) for name in ("Ada", "Bob", "Cy"))

    def send(sender, to):
        return client("POST", f"/meetings/{mid}/tickets",
                      {"to": to["pid"], "kind": "bye", "data": None}, sender["token"])

    sent = []
    for _ in range(5):
        reply = send(ada, bob)
        assert reply.status == 202, reply.body
        sent.append(reply.json["ticket"]["id"])
    before = store.partition(mid)

    _limited(send(ada, bob))
    _limited(send(ada, cy))  # the limit is Ada's, whoever she writes to

    assert store.partition(mid) == before
    replay = client("GET", f"/meetings/{mid}/tickets", token=bob["token"]).json["tickets"]
    assert [t["id"] for t in replay] == sent
    from_cy = send(cy, bob)  # another participant still sends, and no number was skipped
    assert from_cy.status == 202
    assert int(from_cy.json["ticket"]["id"]) == int(sent[-1]) + 1


def test_chat_is_limited_per_participant_and_a_refused_message_is_not_stored(limited_stack):
    store = Store(limited_stack)
    client = Client(limited_stack, "127.0.0.5")
    mid = client.meeting()
    ada, bob = client.join(mid, "Ada"), client.join(mid, "Bob")

    def say(who, text):
        return client("POST", f"/meetings/{mid}/messages", {"text": text}, who["token"])

    for n in range(3):
        assert say(ada, f"message {n}").status == 201
    before = store.partition(mid)

    _limited(say(ada, "one too many"))

    assert store.partition(mid) == before
    history = client("GET", f"/meetings/{mid}/messages", token=bob["token"]).json["messages"]
    assert [m["text"] for m in history] == ["message 0", "message 1", "message 2"]
    assert say(bob, "my own budget").status == 201


def test_reactions_are_limited_per_participant_and_a_refused_one_is_not_stored(limited_stack):
    store = Store(limited_stack)
    client = Client(limited_stack, "127.0.0.6")
    mid = client.meeting()
    ada, bob = client.join(mid, "Ada"), client.join(mid, "Bob")

    def react(who):
        return client("POST", f"/meetings/{mid}/reactions", {"emoji": "👏"}, who["token"])

    for _ in range(3):
        assert react(ada).status == 202
    before = store.partition(mid)

    _limited(react(ada))

    assert store.partition(mid) == before
    assert react(bob).status == 202  # Bob's own budget
