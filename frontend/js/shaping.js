// The sending side of the bandwidth-aware mesh: every peer gets its own encoding of our camera,
// shaped (RTCRtpSender.setParameters on encodings[0]) for how big they show it (their `view`
// tickets, ui/tileviews.js) and for the bandwidth measured to them:
//   main       full resolution and frame rate, bitrate left to the browser's estimate
//   large      at most LARGE_HEIGHT lines, LARGE_BPS, 30 fps
//   thumbnail  at most THUMB_HEIGHT lines, THUMB_BPS, 15 fps
//   hidden     no video at all (`active: false`)
// A peer that has not said yet is treated as large. Audio always wins: its encoding is sent with
// priority and network priority "high", and a large tile's or a thumbnail's video is held to
// the available outgoing bitrate (the selected candidate pair's estimate) less AUDIO_BPS. The
// main view is not capped: the browser already gives audio its share first within a connection,
// and a cap there held the main view's resolution down on a slow estimate (an estimate grows
// only with what is sent).
// The wanted parameters are compared with the sender's every second and set again when they
// differ: a new sender or transceiver after a renegotiation, a camera turned on, or a new view.

const LARGE_HEIGHT = 360;
const LARGE_BPS = 600e3;
const THUMB_HEIGHT = 180;
const THUMB_BPS = 150e3;
const THUMB_FPS = 15;
const AUDIO_BPS = 40e3; // what Opus takes with its packets' overhead, kept out of the video's share
const FLOOR_BPS = 50e3; // never squeeze video below this: the estimate recovers from there
const EVERY = 1000;

// The encoding `view` wants for a source `height` lines high, with `budget` bits/s left for video
// (or null: not measured).
export function encodingFor(view, height, budget) {
  if (view === 'hidden') return {active: false};
  const h = height || 480;
  const want = {main: {scale: 1}, large: {scale: h / LARGE_HEIGHT, bps: LARGE_BPS, fps: 30},
    thumbnail: {scale: h / THUMB_HEIGHT, bps: THUMB_BPS, fps: THUMB_FPS}}[view] || {scale: 1};
  let bps = want.bps;
  if (budget != null && view !== 'main') bps = Math.min(bps ?? Infinity, Math.max(FLOOR_BPS, budget));
  const out = {active: true, scaleResolutionDownBy: Math.max(1, Math.round(want.scale * 100) / 100)};
  if (bps !== undefined) out.maxBitrate = Math.round(bps);
  if (want.fps) out.maxFramerate = want.fps;
  return out;
}

// Close enough not to set again: a bitrate within 10% (the estimate moves all the time).
const near = (a, b) => (a === undefined || b === undefined ? a === b : Math.abs(a - b) <= 0.1 * b);
const same = (enc, want) => (enc.active !== false) === want.active && (!want.active
  || ((enc.scaleResolutionDownBy || 1) === want.scaleResolutionDownBy && enc.maxFramerate === want.maxFramerate
    && near(enc.maxBitrate, want.maxBitrate)));

export class Shaper {
  constructor(room) {
    Object.assign(this, {room, views: new Map(), measured: new Map(), busy: new WeakSet()});
    this.timer = setInterval(() => this.applyAll(), EVERY);
  }

  // A `view` ticket from someone: how they show our camera now.
  view(pid, view) {
    this.views.set(pid, view);
    const peer = this.room.peers.get(pid);
    if (peer) this.apply(peer);
  }

  gone(pid) { this.views.delete(pid); }

  // Each tick's getStats reports (ui/speaker.js): the estimate of what may be sent to each peer.
  stats(reports) {
    for (const [peer, report] of reports) {
      let pair;
      report.forEach((r) => {
        if (r.type === 'transport' && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId);
      });
      report.forEach((r) => {
        if (!pair && r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r;
      });
      const available = pair?.availableOutgoingBitrate;
      this.measured.set(peer.id, available ? available - AUDIO_BPS : null);
    }
  }

  applyAll() {
    if (this.room.closed) return this.close();
    for (const peer of this.room.peers.values()) this.apply(peer);
  }

  apply(peer) {
    if (peer.closed) return;
    const {audio, video} = peer.transceivers;
    this.set(audio?.sender, (enc) => (enc.priority === 'high' && enc.networkPriority === 'high' ? null
      : {priority: 'high', networkPriority: 'high'}));
    const track = video?.sender.track;
    if (!track || track.kind !== 'video') return;
    const want = encodingFor(this.views.get(peer.id) || 'large', track.getSettings().height,
      this.measured.get(peer.id) ?? null);
    this.set(video.sender, (enc) => (same(enc, want) ? null : want));
  }

  // change(encodings[0]) -> the members to set on it, or null; the rest of getParameters()
  // (transactionId, codecs, the other members) goes back as it came. One call at a time per sender.
  set(sender, change) {
    if (!sender || this.busy.has(sender)) return;
    const params = sender.getParameters();
    const enc = params.encodings?.[0];
    const members = enc && change(enc);
    if (!members) return;
    if (members.active) for (const k of ['maxBitrate', 'maxFramerate']) if (!(k in members)) delete enc[k];
    Object.assign(enc, members);
    this.busy.add(sender);
    sender.setParameters(params).catch((e) => console.warn('shaping', e.name, e.message))
      .finally(() => this.busy.delete(sender));
  }

  close() { clearInterval(this.timer); }
}
