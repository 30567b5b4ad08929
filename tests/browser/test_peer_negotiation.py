"""The browser's Peer (frontend/js/peer.js) on its own: two of them in one page, their
tickets handed straight to each other, so negotiation races can be forced and repeated."""

ROUNDS = 6

# Glare: Ada and Bob offer at the same moment, so Bob (the polite one) gets Ada's offer
# while his own is still being set. Rolling his back before its ICE gathering had started
# left Chrome's connection without local candidates for good: stuck in "new", and no ICE
# restart revived it. Each round gives up after 15 s.
GLARE_ROUNDS = """async (rounds) => {
  const {Peer} = await import('/js/peer.js');
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const results = [];
  for (let i = 0; i < rounds; i++) {
    const peers = {};
    for (const [self, other] of [['ada', 'bob'], ['bob', 'ada']]) {
      peers[self] = new Peer({selfId: self, remoteId: other, iceServers: [],
        send: async (kind, data) => peers[other].handle({kind, data}),
        onTrack() {}, onState() {}, onSendError: (e) => console.error('send', e)});
    }
    peers.ada.setTracks(stream);
    peers.bob.setTracks(stream);
    peers.ada.pc.onnegotiationneeded();  // both offer now, not when each event fires
    peers.bob.pc.onnegotiationneeded();
    const until = performance.now() + 15000;
    const up = () => Object.values(peers).every((p) => p.pc.connectionState === 'connected');
    while (!up() && performance.now() < until) await sleep(50);
    results.push(Object.values(peers).map((p) => p.pc.connectionState));
    Object.values(peers).forEach((p) => p.close());
  }
  return results;
}"""


def test_two_peers_offering_at_the_same_moment_both_connect(people):
    (page,) = people(1)
    page.goto("/")
    assert page.evaluate(GLARE_ROUNDS, ROUNDS) == [["connected", "connected"]] * ROUNDS
    assert page.errors == []
