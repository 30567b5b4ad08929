"""The browser's Signaling (frontend/js/signaling.js) on its own, in a page: tickets pushed
and replayed through a fake replay function, no WebSocket (start() is never called)."""

# Tickets 1–5, then a permanent gap (6 was never written), then 7–450: more than one replay
# page (200) after the gap. Signaling must page past the gap, wait its 5 s for 6, skip it
# and deliver the rest in order. The fake server stops answering after 12 s.
PERMANENT_GAP = """async () => {
  const {Signaling} = await import('/js/signaling.js');
  const ids = [1, 2, 3, 4, 5, ...Array.from({length: 444}, (_, i) => i + 7)];
  const stored = ids.map((n) => ({id: String(n).padStart(12, '0'), from: 'ada', kind: 'candidates',
    data: []}));
  const started = performance.now();
  let calls = 0;
  const replay = async (after) => {
    calls++;
    await new Promise((r) => setTimeout(r, 1));
    if (performance.now() - started > 12000) throw new Error('the test is over');
    return {tickets: stored.filter((t) => t.id > after).slice(0, 200)};
  };
  const delivered = [];
  let doneAt = 0;
  const sig = new Signaling('ws://127.0.0.1:9/refused', 'token', replay, {
    onTicket(t) {
      delivered.push(+t.id);
      if (+t.id === 450) doneAt = performance.now();
    },
    onEvent() {}, onStatus() {}, onFatal() {},
  });
  await sig.catchUp();
  return {delivered, calls, seconds: doneAt && (doneAt - started) / 1000, expected: ids};
}"""


def test_a_permanent_gap_before_more_than_a_page_of_tickets_is_skipped_after_5_s(people):
    (page,) = people(1)
    page.goto("/")
    result = page.evaluate(PERMANENT_GAP)
    assert result["delivered"] == result["expected"], (
        f"{len(result['delivered'])} tickets delivered after {result['calls']} replay calls")
    assert 5 <= result["seconds"] < 9, result["seconds"]
    assert result["calls"] < 40, f"{result['calls']} replay calls"
    assert page.errors == []
