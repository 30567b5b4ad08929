"""A ticket reaches a page twice, straight from the request that stored it and again from
the table's stream; the page uses it once."""

from .conftest import join, wait_remote_videos_playing

# Test-only: every ticket a page receives, over its WebSocket or in a replay response.
TICKET_LOG = """
window.__tickets = [];
const NativeSocket = window.WebSocket;
window.WebSocket = class extends NativeSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (e) => {
      const msg = JSON.parse(e.data);
      if (msg.event === 'ticket') window.__tickets.push({via: 'socket', ...msg.ticket});
    });
  }
};
const nativeFetch = window.fetch;
window.fetch = async (url, init) => {
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


def test_each_ticket_arrives_twice_and_is_used_once(people, meeting):
    ada, bob = people(2, init_script=TICKET_LOG)
    mid = meeting()
    join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    for person in (ada, bob):
        wait_remote_videos_playing(person, 1)
    for person in (ada, bob):
        tickets = person.evaluate("window.__tickets")
        live = [t["id"] for t in tickets if t["via"] == "socket"]
        assert any(live.count(tid) == 2 for tid in live), live  # the fast path and the stream
        # a description is applied at most once (the impolite side ignores a colliding offer)
        descriptions = {t["id"] for t in tickets if t["kind"] == "description"}
        assert 1 <= person.evaluate(APPLIED) <= len(descriptions), (tickets, person.evaluate(APPLIED))
        assert person.errors == []
