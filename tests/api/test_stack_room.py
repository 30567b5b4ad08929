"""In-room features over real HTTP and WebSocket: direct messages reach two people only,
history pages past others' direct messages, a host lowers a hand, reactions go to the
others. A request that is refused changes nothing in the meeting's partition."""


from tests.fixtures.table import Store

from .stack_client import Rest, event, message, updated


def test_a_direct_message_reaches_the_recipient_and_the_sender_and_nobody_else(room):
    (hana, gus, ola), (hana_ws, gus_ws, ola_ws) = room
    dm = gus.say("just between us", to=ola)
    assert (dm["to"], dm["toName"]) == (ola.pid, "Ola")

    for ws in (gus_ws, ola_ws):
        got = ws.wait_for(message("just between us"))["message"]
        assert got == dm
    # A public message after it: the stack delivers in write order, so the direct
    # message would have reached Hana's socket before this one.
    hana.say("marker")
    for ws in (hana_ws, gus_ws, ola_ws):
        ws.wait_for(message("marker"))
    assert [e["message"]["text"] for e in hana_ws.of("message")] == ["marker"]

    assert [m["text"] for m in hana.history()["messages"]] == ["marker"]
    for person in (gus, ola):
        assert [m["text"] for m in person.history()["messages"]] == ["just between us",
                                                                     "marker"]


def test_a_direct_message_to_oneself_or_to_someone_gone_is_refused_and_changes_nothing(
        stack, room):
    (hana, gus, ola), _ = room
    partition = Store(stack).partition
    ola.leave()
    before = partition(hana.mid)
    for to, status, code in ((hana.pid, 400, "invalid_request"),
                             (ola.pid, 404, "participant_not_found"),
                             ("nobody000000", 404, "participant_not_found")):
        reply = hana.rest.call("POST", f"/meetings/{hana.mid}/messages",
                               {"text": "hello?", "to": to}, hana.token)
        assert (reply.status, reply.json["error"]["code"]) == (status, code), to
    assert partition(hana.mid) == before
    assert gus.history() == {"messages": [], "more": False}


def test_history_pages_back_with_before_and_more_past_others_direct_messages(stack):
    rest = Rest(stack.api)
    mid = rest.create("Long chat")["meeting"]["id"]
    ada, bob, cy = (rest.join(mid, name) for name in ("Ada", "Bob", "Cy"))
    for n in range(105):
        ada.say(f"m{n}")
    dms = []
    for n in range(105, 205):  # the newest half are the others' direct messages
        ada.say(f"m{n}")
        dms.append(bob.say(f"dm{n}", to=cy)["text"])
    public = [f"m{n}" for n in range(205)]

    newest = ada.history()
    assert [m["text"] for m in newest["messages"]] == public[5:]  # a full page of 200
    assert newest["more"] is True
    older = ada.history(f"?before={newest['messages'][0]['id']}")
    assert [m["text"] for m in older["messages"]] == public[:5]
    assert older["more"] is False

    everything = [m["text"] for m in _all_pages(cy)]
    assert len(everything) == 305 and sorted(everything) == sorted(public + dms)
    assert [t for t in everything if t.startswith("dm")] == dms

    first = newest["messages"][0]["id"]
    for query in (f"?after={first}&before={first}", "?before=not-an-id", "?before="):
        reply = ada.rest.call("GET", f"/meetings/{mid}/messages{query}", token=ada.token)
        assert (reply.status, reply.json["error"]["code"]) == (400, "invalid_request"), query


def _all_pages(person) -> list[dict]:
    """Every message `person` may read, oldest first, paging back with `before`."""
    seen, page = [], person.history()
    while True:
        seen = page["messages"] + seen
        assert len(page["messages"]) == 200 or not page["more"]
        if not page["more"]:
            return seen
        page = person.history(f"?before={page['messages'][0]['id']}")


def test_a_host_lowers_a_hand_a_guest_cannot_and_the_owner_sees_it(stack, room):
    (hana, gus, ola), (hana_ws, gus_ws, ola_ws) = room
    partition = Store(stack).partition
    raised_gus = gus.update(hand=True)["handRaisedAt"]
    raised_ola = ola.update(hand=True)["handRaisedAt"]
    assert raised_gus < raised_ola
    assert gus.update(hand=True)["handRaisedAt"] == raised_gus  # already up: keeps its time
    hana_ws.wait_for(updated(ola.pid, hand=True))
    path = f"/meetings/{hana.mid}/participants/{gus.pid}"
    before = partition(hana.mid)

    reply = ola.rest.call("PATCH", path, {"hand": False}, ola.token)
    assert (reply.status, reply.json["error"]["code"]) == (403, "not_host")
    reply = hana.rest.call("PATCH", path, {"hand": False, "audio": False}, hana.token)
    assert (reply.status, reply.json["error"]["code"]) == (400, "invalid_request")
    assert partition(hana.mid) == before

    reply = hana.rest.call("PATCH", path, {"hand": False}, hana.token)
    assert reply.status == 200, reply.json
    assert (reply.json["participant"]["hand"], reply.json["participant"]["handRaisedAt"]) == (
        False, None)
    for ws in (gus_ws, ola_ws, hana_ws):
        lowered = ws.wait_for(updated(gus.pid, hand=False))["participant"]
        assert lowered["handRaisedAt"] is None

    roster = {p["name"]: p for p in
              hana.rest.call("GET", f"/meetings/{hana.mid}/participants",
                             token=hana.token).json["participants"]}
    assert (roster["Gus"]["hand"], roster["Ola"]["handRaisedAt"]) == (False, raised_ola)
    again = gus.update(hand=True)["handRaisedAt"]
    assert again > raised_ola  # raised anew: now last in line


def test_a_reaction_reaches_everyone_else_and_a_bad_one_stores_nothing(stack, room):
    (hana, gus, ola), (hana_ws, gus_ws, ola_ws) = room
    partition = Store(stack).partition
    before = partition(hana.mid)
    bare_heart = "\N{HEAVY BLACK HEART}"  # without the emoji selector: not in the list
    for emoji in ("💩", bare_heart, "👍👍", ""):
        reply = gus.react(emoji)
        assert (reply.status, reply.json["error"]["code"]) == (400, "invalid_request"), emoji
    assert partition(hana.mid) == before

    heart = "\N{HEAVY BLACK HEART}\N{VARIATION SELECTOR-16}"
    reply = gus.react(heart)
    assert reply.status == 202, reply.json
    reaction = reply.json["reaction"]
    assert (reaction["from"], reaction["emoji"]) == (gus.pid, heart)
    for ws in (hana_ws, ola_ws):
        assert ws.wait_for(event("reaction")) == {"event": "reaction", "reaction": reaction}
    gus.say("marker")  # after the reaction in write order: it would have come first
    gus_ws.wait_for(message("marker"))
    assert gus_ws.of("reaction") == []
    for ws in (hana_ws, ola_ws):
        ws.wait_for(message("marker"))
        assert len(ws.of("reaction")) == 1
