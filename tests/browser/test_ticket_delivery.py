"""A ticket reaches a page twice, straight from the request that stored it and again from
the table's stream; the page uses it once."""

from .conftest import join, wait_remote_videos_playing

# Test-only: every ticket a page receives, over its WebSocket or in a replay response.
TICKET_LOG = """
window.__tickets = [];
window.__sent = []; // every ticket this page sends, on its socket or by REST
const NativeSocket = window.WebSocket;
window.WebSocket = class extends NativeSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (e) => {
      const msg = JSON.parse(e.data);
      if (msg.event === 'ticket') window.__tickets.push({via: 'socket', ...msg.ticket});
    });
  }
  send(text) {
    const msg = JSON.parse(text);
    if (msg.action === 'ticket') window.__sent.push({via: 'socket', ...msg});
    return super.send(text);
  }
};
const nativeFetch = window.fetch;
window.fetch = async (url, init) => {
  if (/\\/tickets$/.test(url) && init?.method === 'POST') {
    window.__sent.push({via: 'rest', ...JSON.parse(init.body)});
  }
  const res = await nativeFetch(url, init);
  if (/\\/tickets(\\?|$)/.test(url) && (!init || !init.method || init.method === 'GET')) {
    res.clone().json().then((b) => (b.tickets || []).forEach(
      (t) => window.__tickets.push({via: 'replay', ...t})), () => {});
  }
  return res;
};
"""

APPLIED = """() => window.__rtcTrace().flatMap((pc) => pc.trace)
  .filter((step) => step[1] === 'setRemote').length"""


def ada_then_bob(people, meeting):
    """Ada joins, then Bob (the newcomer, who offers); both see the other's video, and every
    ticket either page sends or receives is logged."""
    ada, bob = people(2, init_script=TICKET_LOG)
    mid = meeting()
    join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    for person in (ada, bob):
        wait_remote_videos_playing(person, 1)
    return ada, bob


def test_each_ticket_arrives_twice_and_is_used_once(people, meeting):
    ada, bob = ada_then_bob(people, meeting)
    for person in (ada, bob):
        tickets = person.evaluate("window.__tickets")
        live = [t["id"] for t in tickets if t["via"] == "socket"]
        assert any(live.count(tid) == 2 for tid in live), live  # the fast path and the stream
        # a description is applied at most once (the impolite side ignores a colliding offer)
        descriptions = {t["id"] for t in tickets if t["kind"] == "description"}
        assert 1 <= person.evaluate(APPLIED) <= len(descriptions), (tickets, person.evaluate(APPLIED))
        assert person.errors == []


def test_a_join_is_one_offer_and_one_answer_with_candidates_inside(people, meeting):
    ada, bob = ada_then_bob(people, meeting)  # Bob offers; Ada, already there, answers
    sent = {name: [t for t in person.evaluate("window.__sent") if t["kind"] == "description"]
            for name, person in (("ada", ada), ("bob", bob))}
    assert [d["data"]["type"] for d in sent["bob"]] == ["offer"], sent
    assert [d["data"]["type"] for d in sent["ada"]] == ["answer"], sent
    for descriptions in sent.values():  # half trickle: the candidates travel in the SDP
        assert "a=candidate:" in descriptions[0]["data"]["sdp"], descriptions
    assert ada.errors == [] and bob.errors == []


def test_tickets_go_on_the_open_socket_each_with_its_own_key(people, meeting):
    ada, bob = ada_then_bob(people, meeting)
    # Ada's socket is open long before Bob arrives: all her tickets go on it
    sent = ada.evaluate("window.__sent")
    assert sent and {t["via"] for t in sent} == {"socket"}, sent
    keys = [t["key"] for t in sent + bob.evaluate("window.__sent")]
    assert all(keys) and len(set(keys)) == len(keys), keys
