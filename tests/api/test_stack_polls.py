"""Polls over real HTTP and WebSocket against the local stack: a guest cannot create one,
a double vote counts once, a closed poll takes no votes, sockets hear counts only where
they are visible, and the report downloads as JSON and CSV. A refused request changes
nothing in the meeting's partition."""

import json
import threading

from harness.http import fetch
from tests.fixtures.table import Store

from .stack_client import Rest


def _poll_event(poll_id, state, voters):
    def match(e):
        return (e.get("event") == "poll" and e["poll"]["id"] == poll_id
                and e["poll"]["state"] == state and e["poll"]["voters"] == voters)
    return match


def _post(who, path, body=None):
    return who.rest.call("POST", f"/meetings/{who.mid}{path}", body, who.token)


def test_polls_over_the_stack(stack, room):
    (hana, gus, ola), (hana_ws, gus_ws, ola_ws) = room
    partition = Store(stack).partition
    question = {"question": "Ship it?", "options": ["Yes", "No"], "results": "closed"}

    before = partition(hana.mid)
    reply = _post(gus, "/polls", question)
    assert (reply.status, reply.json["error"]["code"]) == (403, "not_host")
    assert partition(hana.mid) == before

    reply = _post(hana, "/polls", question)
    assert reply.status == 201, reply.json
    poll = reply.json["poll"]
    for ws, counts in ((hana_ws, [0, 0]), (gus_ws, None), (ola_ws, None)):
        assert ws.wait_for(_poll_event(poll["id"], "open", 0))["poll"]["counts"] == counts

    # the same person twice at once: one counts, the other is refused
    replies = []
    threads = [threading.Thread(target=lambda: replies.append(
        _post(gus, f"/polls/{poll['id']}/votes", {"options": ["o0"]}))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in replies) == [201, 409]
    assert [r.json["error"]["code"] for r in replies if r.status == 409] == ["already_voted"]
    mine = next(r for r in replies if r.status == 201).json["poll"]
    assert (mine["counts"], mine["myVote"], mine["voters"]) == (None, ["o0"], 1)
    assert hana_ws.wait_for(_poll_event(poll["id"], "open", 1))["poll"]["counts"] == [1, 0]

    reply = _post(hana, f"/polls/{poll['id']}/close")
    assert reply.status == 200 and reply.json["poll"]["state"] == "closed"
    for ws in (hana_ws, gus_ws, ola_ws):
        assert ws.wait_for(_poll_event(poll["id"], "closed", 1))["poll"]["counts"] == [1, 0]
    # guests never heard of the vote itself while the results were closed
    assert [e["poll"]["voters"] for e in gus_ws.of("poll")] == [0, 1]

    before = partition(hana.mid)
    reply = _post(ola, f"/polls/{poll['id']}/votes", {"options": ["o1"]})
    assert (reply.status, reply.json["error"]["code"]) == (409, "poll_closed")
    assert partition(hana.mid) == before

    listed = ola.rest.call("GET", f"/meetings/{ola.mid}/polls", token=ola.token).json["polls"]
    assert [(p["id"], p["counts"], p["myVote"]) for p in listed] == [(poll["id"], [1, 0], None)]

    report = hana.rest.call("GET", f"/meetings/{hana.mid}/polls/report?format=json",
                            token=hana.token)
    assert report.status == 200
    assert report.json["polls"] == [{"question": "Ship it?", "voters": 1,
                                     "options": [{"text": "Yes", "votes": 1},
                                                 {"text": "No", "votes": 0}],
                                     "votes": [{"name": "Gus", "options": ["Yes"]}]}]
    status, headers, raw = fetch(f"{stack.api}/meetings/{hana.mid}/polls/report?format=csv",
                                 "GET", None, {"Authorization": f"Bearer {hana.token}"})
    assert status == 200
    assert {k.lower(): v for k, v in headers.items()}["content-type"].startswith("text/csv")
    assert raw.decode().splitlines() == ["poll,question,option,votes,voter",
                                         "1,Ship it?,Yes,1,", "1,Ship it?,No,0,",
                                         "1,Ship it?,Yes,,Gus"]
    reply = gus.rest.call("GET", f"/meetings/{gus.mid}/polls/report", token=gus.token)
    assert (reply.status, reply.json["error"]["code"]) == (403, "not_host")


def test_ending_the_meeting_emails_the_report_through_the_stacks_ses(stack):
    """The local stack embeds moto's SES with a verified sender: the report reaches the
    meeting's reportEmail and is listed at /local/mail, where nothing leaves the machine."""
    rest = Rest(stack.api)
    created = rest.create("Retro 7f3", reportEmail="lead@example.com")
    mid = created["meeting"]["id"]
    host = rest.join(mid, "Hana", hostKey=created["hostKey"])
    guest = rest.join(mid, "Gus")
    poll = _post(host, "/polls", {"question": "Again next week?",
                                  "options": ["Yes", "No"]}).json["poll"]
    assert _post(guest, f"/polls/{poll['id']}/votes", {"options": ["o0"]}).status == 201

    assert host.rest.call("DELETE", f"/meetings/{mid}", token=host.token).status == 204
    status, _, raw = fetch(f"{stack.url}/local/mail", "GET")
    assert status == 200
    mail = [m for m in json.loads(raw)["mail"] if m["subject"] == "Poll results: Retro 7f3"]
    assert len(mail) == 1, mail
    assert mail[0]["to"] == ["lead@example.com"]
    assert mail[0]["source"] == "Parley <no-reply@parley.localhost>"
    assert "Again next week? (1 voted)" in mail[0]["body"]
    assert "Gus: Yes" in mail[0]["body"]
