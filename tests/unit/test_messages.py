"""Chat to everyone and direct messages, history pages, and reactions."""

import pytest

from chalicelib import messages
from chalicelib.models import REACTION_EMOJI, Item, Reaction, meeting_pk, now


@pytest.fixture
def trio(client, meeting):
    mid = meeting["meeting"]["id"]
    return mid, *(client.join(mid, name) for name in ("Ada", "Bob", "Cy"))


def _say(client, mid, who, text, to=None):
    body = {"text": text} if to is None else {"text": text, "to": to["participant"]["id"]}
    resp = client.call("POST", f"/meetings/{mid}/messages", body, token=who["token"])
    assert resp.status == 201, resp.json
    return resp.json["message"]


def _partition(mid):
    """Every item of the meeting as stored, to show a refused request changed nothing."""
    return [item.serialize() for item in Item.query(meeting_pk(mid), consistent_read=True)]


def _history(client, mid, who, query=""):
    resp = client.call("GET", f"/meetings/{mid}/messages{query}", token=who["token"])
    assert resp.status == 200, resp.json
    return [m["text"] for m in resp.json["messages"]], resp.json["more"]


def test_a_direct_message_names_its_recipient_and_only_its_two_people_read_it(client, trio):
    mid, ada, bob, cy = trio
    public = _say(client, mid, ada, "hello all")
    dm = _say(client, mid, ada, "just you", to=bob)
    assert (public["to"], public["toName"]) == (None, None)
    assert (dm["to"], dm["toName"]) == (bob["participant"]["id"], "Bob")
    assert dm["from"] == ada["participant"]["id"] and dm["fromName"] == "Ada"
    assert _history(client, mid, ada) == (["hello all", "just you"], False)
    assert _history(client, mid, bob) == (["hello all", "just you"], False)
    assert _history(client, mid, cy) == (["hello all"], False)
    assert _history(client, mid, cy, f"?after={public['id']}") == ([], False)


def test_a_direct_message_to_oneself_or_someone_absent_is_refused_and_stores_nothing(
        client, trio):
    mid, ada, bob, cy = trio
    client.call("DELETE", f"/meetings/{mid}/participants/me", token=cy["token"])
    before = _partition(mid)
    cases = [(ada["participant"]["id"], 400, "invalid_request"),
             (cy["participant"]["id"], 404, "participant_not_found"),
             ("nobody000000", 404, "participant_not_found"),
             ("not an id!", 400, "invalid_request"),
             (7, 400, "invalid_request")]
    for to, status, code in cases:
        resp = client.call("POST", f"/meetings/{mid}/messages", {"text": "x", "to": to},
                           token=ada["token"])
        assert (resp.status, resp.json["error"]["code"]) == (status, code), to
    resp = client.call("POST", f"/meetings/{mid}/messages",
                       {"text": "x", "to": ada["participant"]["id"]}, token=ada["token"])
    assert "yourself" in resp.json["error"]["message"]
    assert _partition(mid) == before


def test_history_pages_are_full_and_go_back_with_before_past_others_direct_messages(
        client, trio, monkeypatch):
    monkeypatch.setattr(messages, "HISTORY_LIMIT", 3)
    mid, ada, bob, cy = trio
    for n in range(7):
        _say(client, mid, ada, f"m{n}")
        _say(client, mid, bob, f"dm{n}", to=cy)
        _say(client, mid, cy, f"re{n}", to=bob)

    texts, more = _history(client, mid, ada)
    assert (texts, more) == (["m4", "m5", "m6"], True)
    first = client.call("GET", f"/meetings/{mid}/messages", token=ada["token"]).json["messages"]
    older = client.call("GET", f"/meetings/{mid}/messages?before={first[0]['id']}",
                        token=ada["token"]).json
    assert ([m["text"] for m in older["messages"]], older["more"]) == (["m1", "m2", "m3"], True)
    oldest = _history(client, mid, ada, f"?before={older['messages'][0]['id']}")
    assert oldest == (["m0"], False)

    # Bob sees his own conversation too, page after page, each message once
    seen, query = [], ""
    while True:
        resp = client.call("GET", f"/meetings/{mid}/messages{query}", token=bob["token"]).json
        seen = [m["text"] for m in resp["messages"]] + seen
        if not resp["more"]:
            break
        query = f"?before={resp['messages'][0]['id']}"
    assert seen == [t for n in range(7) for t in (f"m{n}", f"dm{n}", f"re{n}")]

    after = _history(client, mid, ada, f"?after={first[0]['id']}")
    assert after == (["m5", "m6"], False)
    start = client.call("GET", f"/meetings/{mid}/messages?before={older['messages'][0]['id']}",
                        token=ada["token"]).json["messages"][0]["id"]
    assert _history(client, mid, ada, f"?after={start}") == (["m1", "m2", "m3"], True)


def test_history_refuses_both_cursors_and_malformed_ones(client, trio):
    mid, ada, _, _ = trio
    mine = _say(client, mid, ada, "one")["id"]
    for query in (f"?after={mine}&before={mine}", "?before=", "?before=a-b", "?after=%20",
                  "?before=" + "1" * 33, "?page=2"):
        resp = client.call("GET", f"/meetings/{mid}/messages{query}", token=ada["token"])
        assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request"), query
    resp = client.call("GET", f"/meetings/{mid}/messages?after={mine}&before={mine}",
                       token=ada["token"])
    assert "not both" in resp.json["error"]["message"]
    assert _history(client, mid, ada, f"?before={mine}") == ([], False)


def test_a_reaction_is_stored_briefly_and_answered_with_its_public_view(client, trio):
    mid, ada, _, _ = trio
    for emoji in REACTION_EMOJI:
        resp = client.call("POST", f"/meetings/{mid}/reactions", {"emoji": emoji},
                           token=ada["token"])
        assert resp.status == 202, resp.json
        reaction = resp.json["reaction"]
        assert set(reaction) == {"id", "from", "emoji", "sentAt"}
        assert (reaction["from"], reaction["emoji"]) == (ada["participant"]["id"], emoji)
    stored = list(Reaction.query(meeting_pk(mid), Reaction.sk.startswith("E#")))
    assert sorted(r.emoji for r in stored) == sorted(REACTION_EMOJI)
    for r in stored:
        assert 50 <= (r.expires - now()).total_seconds() <= 61


def test_a_reaction_outside_the_list_is_refused_and_stores_nothing(client, trio):
    mid, ada, _, _ = trio
    before = _partition(mid)
    for body in ({"emoji": "💩"}, {"emoji": "\N{HEAVY BLACK HEART}"}, {"emoji": ""},
                 {"emoji": ["👍"]}, {}, {"emoji": "👍", "to": ada["participant"]["id"]}):
        resp = client.call("POST", f"/meetings/{mid}/reactions", body, token=ada["token"])
        assert (resp.status, resp.json["error"]["code"]) == (400, "invalid_request"), body
    assert _partition(mid) == before
    assert client.call("POST", f"/meetings/{mid}/reactions", {"emoji": "👍"}).status == 401


def test_a_message_with_a_null_recipient_is_for_everyone(client, trio):
    mid, ada, _, cy = trio
    resp = client.call("POST", f"/meetings/{mid}/messages", {"text": "all", "to": None},
                       token=ada["token"])
    assert resp.status == 201 and resp.json["message"]["to"] is None
    assert _history(client, mid, cy) == (["all"], False)
