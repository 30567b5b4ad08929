// Who is speaking, from the audio levels WebRTC already measures (getStats): each peer's
// inbound audio `audioLevel`, and ours from the `media-source` of our microphone.
//   - speaking: a level above THRESHOLD within the last HOLD ms (speech has gaps; the ring
//     must not flicker between words);
//   - the active speaker (speaker layout's main view): the loudest speaker, once they have
//     been the loudest for SETTLE ms, and never sooner than SWITCH ms after the last change,
//     so a cough does not steal the view. "Loudest" compares levels that fall off slowly
//     (DECAY a tick) rather than the last reading: the pauses between words (or the beeps of
//     a test microphone) must not hand the lead to nobody and restart the clock.
// The same reports serve the connection quality (quality.js: onStats), so each peer costs one
// getStats per tick in all.

const EVERY = 250;
const THRESHOLD = 0.02; // about -34 dBov; the room's hum and a muted mic stay below it
const HOLD = 800;
const SETTLE = 700;
const SWITCH = 1500;
const DECAY = 0.85; // per tick: a level halves in about a second of silence

export class SpeakerWatch {
  // room: the Room (me, peers, audio); onSpeaking(pid, on); onSpeaker(pid); onStats(reports): each
  // tick's Map of peer -> RTCStatsReport
  constructor(room, {onSpeaking, onSpeaker, onStats}) {
    Object.assign(this, {room, onSpeaking, onSpeaker, onStats, heard: new Map(), held: new Map(), speaking: new Set(),
      speaker: null, candidate: null, since: 0, changed: -Infinity});
    this.timer = setInterval(() => this.tick().catch(() => {}), EVERY);
  }

  async levels() {
    const out = new Map();
    const reports = new Map();
    let mine = 0;
    await Promise.all([...this.room.peers.values()].map(async (peer) => {
      if (peer.closed) return;
      let level = 0;
      const report = await peer.pc.getStats();
      reports.set(peer, report);
      report.forEach((r) => {
        if (r.kind !== 'audio') return;
        if (r.type === 'inbound-rtp') level = Math.max(level, r.audioLevel || 0);
        if (r.type === 'media-source') mine = Math.max(mine, r.audioLevel || 0);
      });
      out.set(peer.id, level);
    }));
    out.set(this.room.me, this.room.audio ? mine : 0); // a muted mic still measures what it hears
    this.onStats?.(reports);
    return out;
  }

  async tick() {
    if (this.room.closed) return this.close();
    const now = performance.now();
    const levels = await this.levels();
    let loudest = null;
    for (const [pid, level] of levels) {
      const held = Math.max(level, (this.held.get(pid) || 0) * DECAY);
      this.held.set(pid, held);
      if (level > THRESHOLD) this.heard.set(pid, now);
      const on = now - (this.heard.get(pid) ?? -Infinity) < HOLD;
      if (on !== this.speaking.has(pid)) {
        if (on) this.speaking.add(pid); else this.speaking.delete(pid);
        this.onSpeaking(pid, on);
      }
      if (on && held > THRESHOLD && (!loudest || held > this.held.get(loudest))) loudest = pid;
    }
    for (const pid of this.held.keys()) { // gone
      if (!levels.has(pid)) [this.held, this.heard, this.speaking].forEach((x) => x.delete(pid));
    }
    if (loudest !== this.candidate) [this.candidate, this.since] = [loudest, now];
    if (this.candidate && this.candidate !== this.speaker && now - this.since >= SETTLE
        && now - this.changed >= SWITCH) {
      this.speaker = this.candidate;
      this.changed = now;
      this.onSpeaker(this.speaker);
    }
  }

  close() { clearInterval(this.timer); }
}
