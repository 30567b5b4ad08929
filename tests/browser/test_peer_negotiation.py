"""The browser's Peer (frontend/js/peer.js) on its own: two of them in one page, their
tickets handed straight to each other, so negotiation races can be forced and repeated."""

ROUNDS = 6

# Glare: Ada and Bob offer at the same moment (both think they start, as in two joins at
# the same moment), so Bob (the polite one) gets Ada's offer while his own is still being
# set. Rolling his back before its ICE gathering had started left Chrome's connection
# without local candidates for good: stuck in "new", and no ICE restart revived it.
# Each round gives up after 15 s.
GLARE_ROUNDS = """async (rounds) => {
  const {Peer} = await import('/js/peer.js');
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const results = [];
  for (let i = 0; i < rounds; i++) {
    const peers = {};
    for (const [self, other] of [['ada', 'bob'], ['bob', 'ada']]) {
      peers[self] = new Peer({selfId: self, remoteId: other, iceServers: [], starts: true,
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



# One of Ada's offers is lost, as when a gap in the ticket sequence is skipped: her first one
# (both still "new"; Bob has no camera or mic, so he has nothing to offer), or, once they are
# connected with audio, the one for her camera. Ada sits in have-local-offer; after a watchdog
# period exactly one offer must follow, and Bob must end up receiving what she sends.
LOST_OFFER = """async (first) => {
  const {Peer} = await import('/js/peer.js');
  const media = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const audioOnly = new MediaStream(media.getAudioTracks());
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (ok, ms) => {
    const end = performance.now() + ms;
    while (!ok() && performance.now() < end) await sleep(50);
    return ok();
  };
  const peers = {};
  const offers = [];
  let dropNextOffer = first;
  for (const [self, other] of [['ada', 'bob'], ['bob', 'ada']]) {
    peers[self] = new Peer({selfId: self, remoteId: other, iceServers: [], starts: self === 'ada',
      send: async (kind, data) => {
        if (kind === 'description' && data.type === 'offer') {
          offers.push(self);
          if (dropNextOffer && self === 'ada') return void (dropNextOffer = false);
        }
        peers[other].handle({kind, data});
      },
      onTrack() {}, onState() {}, onSendError: (e) => console.error('send', e)});
  }
  const settled = () => Object.values(peers).every((p) => p.pc.connectionState === 'connected'
    && p.pc.signalingState === 'stable');
  if (first) {
    peers.ada.setTracks(media);
  } else {
    peers.ada.setTracks(audioOnly);
    peers.bob.setTracks(audioOnly);
    if (!(await until(settled, 15000))) return 'never connected';
    offers.length = 0;
    dropNextOffer = true;
    peers.ada.setTracks(media);
  }
  await until(() => offers.length === 1 && peers.ada.pc.signalingState === 'have-local-offer', 5000);
  const lostAt = performance.now();
  const bobSees = () => peers.bob.pc.getTransceivers().some((t) => t.receiver.track.kind === 'video'
    && /recv/.test(t.currentDirection || ''));
  const ok = await until(() => settled() && bobSees(), 25000);
  const seconds = (performance.now() - lostAt) / 1000;
  await sleep(3000); // and no second offer follows
  const states = Object.values(peers).map((p) => [p.pc.connectionState, p.pc.signalingState]);
  Object.values(peers).forEach((p) => p.close());
  return {ok, seconds, offers, states};
}"""


def lost_offer(people, first):
    (page,) = people(1)
    page.goto("/")
    result = page.evaluate(LOST_OFFER, first)
    assert result != "never connected"
    assert result["ok"], result
    assert result["offers"] == ["ada", "ada"], result  # the lost one and exactly one more
    assert result["seconds"] < 20, result
    assert page.errors == []


def test_a_lost_first_offer_is_made_again_exactly_once(people):
    lost_offer(people, first=True)


def test_an_offer_lost_while_connected_is_made_again_exactly_once(people):
    lost_offer(people, first=False)


# Half trickle with a slow network: every candidate is taken out of the descriptions and
# delivered 700 ms after them in a ticket of its own, as candidates that turn up after the
# description went out are. The connection must come up on those late candidates.
LATE_CANDIDATES = """async () => {
  const {Peer} = await import('/js/peer.js');
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const peers = {};
  let withheld = 0;
  for (const [self, other] of [['ada', 'bob'], ['bob', 'ada']]) {
    peers[self] = new Peer({selfId: self, remoteId: other, iceServers: [], starts: self === 'ada',
      send: async (kind, data) => {
        if (kind === 'description') {
          const lines = data.sdp.split('\\r\\n');
          const late = [];
          let mid = null;
          let index = -1;
          const kept = lines.filter((line) => {
            if (line.startsWith('m=')) index++;
            if (line.startsWith('a=mid:')) mid = line.slice(6);
            if (!line.startsWith('a=candidate:')) return true;
            late.push({candidate: line.slice(2), sdpMid: mid, sdpMLineIndex: index});
            return false;
          });
          withheld += late.length;
          peers[other].handle({kind, data: {type: data.type, sdp: kept.join('\\r\\n')}});
          setTimeout(() => peers[other].handle({kind: 'candidates', data: late}), 700);
        } else {
          peers[other].handle({kind, data});
        }
      },
      onTrack() {}, onState() {}, onSendError: (e) => console.error('send', e)});
  }
  peers.ada.setTracks(stream);
  peers.bob.setTracks(stream);
  const until = performance.now() + 20000;
  const up = () => Object.values(peers).every((p) => p.pc.connectionState === 'connected');
  while (!up() && performance.now() < until) await sleep(50);
  const states = Object.values(peers).map((p) => p.pc.connectionState);
  Object.values(peers).forEach((p) => p.close());
  return {states, withheld};
}"""


def test_candidates_that_arrive_after_the_description_are_used(people):
    (page,) = people(1)
    page.goto("/")
    result = page.evaluate(LATE_CANDIDATES)
    assert result["withheld"] > 0, result  # the descriptions did carry candidates (half trickle)
    assert result["states"] == ["connected", "connected"], result
    assert page.errors == []


# A send that fails as at a gateway (network error, 5xx, try_again) is sent again with the
# same key, so the server (which stores a ticket once per key) keeps one; a refusal is not.
RETRIED_SENDS = """async () => {
  const {Peer} = await import('/js/peer.js');
  const {ApiError} = await import('/js/api.js');
  const calls = [];
  const failures = ['network_error', 'http_502', 'try_again', 'participant_not_found'];
  const peer = new Peer({selfId: 'ada', remoteId: 'bob', iceServers: [], starts: true,
    send: async (kind, data, key) => {
      calls.push({kind, key});
      const code = failures.shift();
      if (code) throw new ApiError(0, code, code);
      return {};
    },
    onTrack() {}, onState() {}, onSendError: (e) => calls.push({gaveUp: e.code})});
  const first = peer.post('bye', null);
  await first;
  await peer.post('bye', null);
  peer.close();
  return calls;
}"""


def test_a_failed_send_goes_again_with_the_same_key(people):
    (page,) = people(1)
    page.goto("/")
    calls = page.evaluate(RETRIED_SENDS)
    # the first ticket: three failures worth retrying, then a refusal that is not retried
    assert [c.get("gaveUp") for c in calls] == [None, None, None, None, "participant_not_found", None], calls
    first, second = calls[0]["key"], calls[5]["key"]
    assert {c["key"] for c in calls[:4]} == {first} and second != first, calls


# ICE recovery, with each connection's state faked (the real one stays connected underneath,
# so the restarts that follow are real renegotiations): a disconnection that heals within half
# a second restarts nothing; one that lasts past 2.5 s restarts ICE once, from the impolite side
# (Ada: the smaller id) only. When the network is back (recovery.js, as after the socket
# reopened), a connected pair is left alone, and a disconnected one is restarted at once by
# Ada, though her last restart was moments ago, and not by Bob. Each restart must end with
# both connected on new ICE credentials. Timers of one page fire in the order of their
# deadlines, so the half second always ends before the 2.5 s do.
DISCONNECTIONS = """async () => {
  const {Peer} = await import('/js/peer.js');
  const {recovery} = await import('/js/recovery.js');
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (ok, ms) => {
    const end = performance.now() + ms;
    while (!ok() && performance.now() < end) await sleep(50);
    return ok();
  };
  const ufrag = (pc) => /a=ice-ufrag:(\\S+)/.exec(pc.localDescription?.sdp || '')?.[1];
  const peers = {};
  const restarts = {ada: 0, bob: 0};
  for (const [self, other] of [['ada', 'bob'], ['bob', 'ada']]) {
    const peer = new Peer({selfId: self, remoteId: other, iceServers: [], starts: self === 'ada',
      send: async (kind, data) => peers[other].handle({kind, data}),
      onTrack() {}, onState() {}, onSendError: (e) => console.error('send', e)});
    peers[self] = peer;
    const restartIce = peer.pc.restartIce.bind(peer.pc);
    peer.pc.restartIce = () => { restarts[self]++; restartIce(); };
    peer.setTracks(stream);
  }
  const all = Object.values(peers);
  const settled = () => all.every((p) => p.pc.connectionState === 'connected'
    && p.pc.signalingState === 'stable');
  const renegotiated = async (before) => until(() => settled()
    && Object.entries(peers).every(([name, p]) => ufrag(p.pc) !== before[name]), 20000);
  const credentials = () => ({ada: ufrag(peers.ada.pc), bob: ufrag(peers.bob.pc)});
  const fake = (state) => all.forEach((p) => {
    if (state) Object.defineProperty(p.pc, 'connectionState', {configurable: true, get: () => state});
    else delete p.pc.connectionState; // the real one again
    p.pc.onconnectionstatechange();
  });
  if (!(await until(settled, 15000))) return 'never connected';
  const result = {};

  fake('disconnected');
  await sleep(500);
  fake(null);
  await sleep(3000);
  result.blip = {...restarts};

  let before = credentials();
  fake('disconnected');
  await sleep(4000);
  result.lasting = {...restarts};
  fake(null);
  result.afterLasting = await renegotiated(before);

  before = credentials();
  const room = {peers: new Map(all.map((p) => [p.id, p])), sig: {isOpen: () => true}};
  const recover = recovery(room);
  recover.recover();
  result.backConnected = {...restarts};
  fake('disconnected');
  recover.recover();
  result.backDisconnected = {...restarts};
  fake(null);
  recover.close();
  result.afterBack = await renegotiated(before);
  all.forEach((p) => p.close());
  return result;
}"""


def test_a_lasting_disconnection_restarts_ice_from_the_impolite_side_only_and_a_blip_not_at_all(people):
    (page,) = people(1)
    page.goto("/")
    result = page.evaluate(DISCONNECTIONS)
    assert result != "never connected"
    assert result["blip"] == {"ada": 0, "bob": 0}, result
    assert result["lasting"] == {"ada": 1, "bob": 0}, result
    assert result["afterLasting"], result
    assert result["backConnected"] == {"ada": 1, "bob": 0}, result
    assert result["backDisconnected"] == {"ada": 2, "bob": 0}, result
    assert result["afterBack"], result
    assert page.errors == []
