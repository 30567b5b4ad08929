"""Token buckets: bursts pass, the next request gets 429 with Retry-After, time refills."""

import pytest

from chalicelib import ratelimit
from chalicelib.errors import ApiError
from chalicelib.ratelimit import Buckets, Limit


def test_burst_then_429_with_retry_after_then_refill():
    buckets = Buckets({"ticket": Limit(burst=3, per_second=0.5)})
    for _ in range(3):
        buckets.take("ticket", "p1", now=100.0)
    with pytest.raises(ApiError) as err:
        buckets.take("ticket", "p1", now=100.0)
    assert (err.value.status, err.value.code) == (429, "rate_limited")
    assert err.value.headers["Retry-After"] == "2"
    buckets.take("ticket", "p2", now=100.0)  # other participants are unaffected
    buckets.take("ticket", "p1", now=102.0)  # two seconds refill one token


def test_reactions_come_in_bursts_of_8_then_2_a_second():
    buckets = Buckets()
    for _ in range(8):
        buckets.take("reaction", "p1", now=10.0)
    with pytest.raises(ApiError) as err:
        buckets.take("reaction", "p1", now=10.0)
    assert err.value.headers["Retry-After"] == "1"
    buckets.take("reaction", "p1", now=10.5)  # half a second refills one
    with pytest.raises(ApiError):
        buckets.take("reaction", "p1", now=10.5)


def test_limits_parse_from_settings_string():
    assert ratelimit.parse("join=5/0.5, ticket=100/25") == {
        "join": Limit(5, 0.5), "ticket": Limit(100, 25)}


@pytest.fixture
def strict_limits(rate_limits):
    rate_limits("join=2/0.001,message=2/0.001,ticket=3/0.001,reaction=2/0.001")


def test_routes_answer_429_and_change_nothing_when_limited(client, strict_limits):
    mid = client.create()["meeting"]["id"]
    a, b = client.join(mid, "A"), client.join(mid, "B")
    resp = client.call("POST", f"/meetings/{mid}/join", {"name": "C"})
    assert (resp.status, resp.json["error"]["code"]) == (429, "rate_limited")
    assert int(resp.headers["Retry-After"]) >= 1
    assert client.call("GET", f"/meetings/{mid}").json["meeting"]["participantCount"] == 2
    to_b = {"to": b["participant"]["id"], "kind": "bye"}
    statuses = [client.call("POST", f"/meetings/{mid}/tickets", to_b, token=a["token"]).status
                for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    assert len(client.call("GET", f"/meetings/{mid}/tickets", token=b["token"]).json["tickets"]) == 3
    chat = [client.call("POST", f"/meetings/{mid}/messages", {"text": "x"}, token=a["token"]).status
            for _ in range(3)]
    assert chat == [201, 201, 429]
    partition = _partition(mid)
    reactions = [client.call("POST", f"/meetings/{mid}/reactions", {"emoji": "👍"},
                             token=a["token"]) for _ in range(3)]
    assert [r.status for r in reactions] == [202, 202, 429]
    assert reactions[-1].json["error"]["code"] == "rate_limited"
    assert int(reactions[-1].headers["Retry-After"]) >= 1
    assert len(_partition(mid)) == len(partition) + 2  # the refused one stored nothing
    assert client.call("POST", f"/meetings/{mid}/reactions", {"emoji": "👍"},
                       token=b["token"]).status == 202  # B's own budget


def _partition(mid):
    from chalicelib.models import Item, meeting_pk

    return list(Item.query(meeting_pk(mid), consistent_read=True))
