"""Tickets handed on exactly once and in order, whatever mix of pushed copies, replays and
gaps brings them."""

from bots.runtime.tickets import TicketSequence, pad


def t(n: int) -> dict:
    return {"id": pad(n), "from": "p1", "kind": "candidates", "data": []}


def ids(tickets) -> list[int]:
    return [int(x["id"]) for x in tickets]


def test_a_second_copy_of_a_ticket_is_dropped():
    seq = TicketSequence()
    assert ids(seq.add(t(1))) == [1]
    assert seq.add(t(1)) == []  # the stream's copy after the fast path's
    assert ids(seq.add(t(2))) == [2]
    assert seq.cursor == "000000000002"


def test_a_ticket_after_a_gap_waits_until_the_gap_is_filled():
    seq = TicketSequence()
    seq.add(t(1))
    assert seq.add(t(3)) == [] and seq.waiting
    assert seq.add(t(3)) == []  # and its copy is not kept twice
    assert ids(seq.add(t(2))) == [2, 3]
    assert not seq.waiting


def test_a_replay_overlapping_pushed_tickets_hands_on_only_the_new_ones():
    seq = TicketSequence()
    delivered = []
    for n in (1, 2, 4):
        delivered += seq.add(t(n))
    for n in (1, 2, 3, 4, 5):  # the replay after a reconnect returns everything after 0
        delivered += seq.add(t(n))
    assert ids(delivered) == [1, 2, 3, 4, 5]


def test_a_gap_that_never_fills_is_skipped_after_the_patience():
    now = [100.0]
    seq = TicketSequence(clock=lambda: now[0], patience=5)
    seq.add(t(1))
    seq.add(t(4))
    seq.add(t(5))
    assert seq.skip_stale_gap() == []  # starts the clock
    now[0] += 4.9
    assert seq.skip_stale_gap() == []
    now[0] += 0.2
    assert ids(seq.skip_stale_gap()) == [4, 5]
    assert seq.cursor == "000000000005" and not seq.waiting
    assert seq.add(t(2)) == []  # the skipped number, if it ever comes, is too late


def test_a_later_gap_gets_its_own_patience():
    now = [0.0]
    seq = TicketSequence(clock=lambda: now[0], patience=5)
    for n in (2, 4):
        seq.add(t(n))
    seq.skip_stale_gap()
    now[0] = 6
    assert ids(seq.skip_stale_gap()) == [2]
    now[0] = 10
    assert seq.skip_stale_gap() == []  # 4 s into the second gap
    now[0] = 11.5
    assert ids(seq.skip_stale_gap()) == [4]
