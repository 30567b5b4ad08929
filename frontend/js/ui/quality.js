// Connection quality, from the getStats reports speaker.js takes anyway (one getStats per peer
// per tick serves both; this reads them once a second):
//   - on every remote tile, signal bars (4 = excellent ... 1 = poor, 0 = not connected) from the
//     round-trip time and the packet loss of what we receive, and a details popover (a click or
//     Enter/Space on the bars; Escape, a click elsewhere or the bars again close it): round trip,
//     packet loss, received bitrate, resolution and frame rate, direct or relayed path;
//   - for the local user, "Your connection is poor" when what we send goes badly to at least
//     half of the people we are connected to (badly to one of several is more likely theirs):
//     as their side reports it (remote-inbound-rtp: round trip over 400 ms or over 8% lost) or
//     as our encoder sees it (video held back for bandwidth, with under 250 kbit/s estimated
//     to be available). With hysteresis, so it does not flap: it shows after 5 s of bad
//     readings in a row and goes after 10 s of good ones.
import {h} from './dom.js';
import {t, tr} from '../i18n.js';

const EVERY = 1000; // ms between two readings of a peer
const SPAN = 3; // loss and bitrate over the last 3 readings
const LEVELS = [[0.15, 0.01], [0.3, 0.03], [0.5, 0.08]]; // [round trip s, loss] for 4, 3, 2 bars
const POOR = {rtt: 0.4, loss: 0.08, available: 250e3};

// One reading of a peer's report: counters to take differences of, and what holds now.
export function read(report, videoId) {
  const out = {at: performance.now(), bytes: 0, lost: 0, packets: 0, sendRtt: 0, sendLoss: 0, limited: false};
  let pair = null;
  let video = null;
  report.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId);
    else if (r.type === 'inbound-rtp') {
      out.bytes += r.bytesReceived || 0;
      out.lost += Math.max(0, r.packetsLost || 0);
      out.packets += r.packetsReceived || 0;
      if (r.kind === 'video' && (r.trackIdentifier === videoId || !video)) video = r;
    } else if (r.type === 'remote-inbound-rtp') { // what they say about what we send
      out.sendRtt = Math.max(out.sendRtt, r.roundTripTime || 0);
      out.sendLoss = Math.max(out.sendLoss, r.fractionLost || 0);
    } else if (r.type === 'outbound-rtp' && r.kind === 'video' && r.qualityLimitationReason === 'bandwidth') {
      out.limited = true;
    }
  });
  if (pair) {
    const local = report.get(pair.localCandidateId);
    const remote = report.get(pair.remoteCandidateId);
    out.rtt = pair.currentRoundTripTime;
    out.available = pair.availableOutgoingBitrate;
    out.relayed = local?.candidateType === 'relay' || remote?.candidateType === 'relay';
    out.protocol = local?.relayProtocol || null;
  }
  if (video?.frameWidth) Object.assign(out, {width: video.frameWidth, height: video.frameHeight,
    fps: video.framesPerSecond});
  return out;
}

// What a tile shows, from a peer's last readings (oldest first): loss and bitrate over them.
export function summary(readings, connected) {
  const now = readings.at(-1);
  const then = readings[0];
  const s = {...now, connected: connected && 'rtt' in now, loss: null, bitrate: null};
  if (now !== then) {
    const lost = now.lost - then.lost;
    const packets = now.packets - then.packets + lost;
    s.loss = packets > 0 ? Math.max(0, lost / packets) : 0;
    s.bitrate = Math.max(0, (now.bytes - then.bytes) * 8 / ((now.at - then.at) / 1e3));
  }
  s.level = !s.connected ? 0 : 4 - LEVELS.filter(([rtt, loss]) => (s.rtt || 0) > rtt || (s.loss || 0) > loss).length;
  return s;
}

// Whether what we send to this peer goes badly (see the top of this file).
export const sendsBadly = (r) => r.sendRtt > POOR.rtt || r.sendLoss > POOR.loss
  || (r.limited && r.available < POOR.available);

// A state that changes only after the readings have said the other thing for a while in a row:
// on after `up` ms of bad readings, off after `down` ms of good ones.
export class Hysteresis {
  constructor(up, down) { Object.assign(this, {up, down, on: false, since: null}); }

  feed(bad, now) {
    if (bad === this.on) {
      this.since = null;
    } else {
      this.since ??= now;
      if (now - this.since >= (this.on ? this.down : this.up)) [this.on, this.since] = [bad, null];
    }
    return this.on;
  }
}

const SVG = 'http://www.w3.org/2000/svg';
function bars() {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  for (let i = 0; i < 4; i++) {
    const bar = document.createElementNS(SVG, 'rect');
    Object.entries({x: 2 + i * 5.5, y: 18 - i * 5, width: 4, height: 4 + i * 5, rx: 1})
      .forEach(([k, v]) => bar.setAttribute(k, v));
    svg.append(bar);
  }
  return svg;
}

const ms = (s) => (s == null ? '—' : Math.round(s * 1e3) + ' ms');
const percent = (x) => (x == null ? '—' : (x * 100).toFixed(1) + ' %');
const rate = (b) => (b == null ? '—' : b < 1e6 ? Math.round(b / 1e3) + ' kbit/s' : (b / 1e6).toFixed(1) + ' Mbit/s');

export class Quality {
  // room: the Room (peers, people, view, me)
  constructor(room) {
    Object.assign(this, {room, readings: new Map(), last: 0, open: null});
    this.poor = new Hysteresis(5e3, 10e3);
    this.notice = h('div', {class: 'banner poor-connection', role: 'status', id: 'poor-connection', hidden: true,
      i18n: 'poor_connection'});
    this.outside = (e) => {
      if (e.type === 'keydown' ? e.key === 'Escape' : !this.open?.card.contains(e.target)
        && !this.open?.button.contains(e.target)) this.close(e.type === 'keydown');
    };
  }

  // Each tick's reports (speaker.js), used once a second.
  stats(reports) {
    const now = performance.now();
    if (now - this.last < EVERY - 50) return;
    this.last = now;
    let connected = 0;
    let bad = 0;
    for (const [peer, report] of reports) {
      const list = this.readings.get(peer.id) || [];
      list.push(read(report, peer.stream.getVideoTracks()[0]?.id));
      if (list.length > SPAN + 1) list.shift();
      this.readings.set(peer.id, list);
      const up = peer.pc.connectionState === 'connected';
      if (up) connected++;
      if (up && sendsBadly(list.at(-1))) bad++;
      this.show(peer.id, summary(list, up));
    }
    for (const pid of this.readings.keys()) if (!this.room.peers.has(pid)) this.readings.delete(pid);
    if (this.open && !this.room.peers.has(this.open.pid)) this.close(); // they left
    this.notice.hidden = !this.poor.feed(connected > 0 && bad * 2 >= connected, now);
  }

  // The bars on their tile (made the first time), and the popover if it is open on it.
  show(pid, s) {
    const tile = this.room.view.grid.tiles.get(pid);
    if (!tile) return; // a bot has none
    if (!tile.quality) {
      tile.quality = h('button', {type: 'button', class: 'quality', 'aria-haspopup': 'dialog', 'aria-expanded': 'false',
        onclick: () => (this.open?.pid === pid ? this.close(true) : this.details(pid))}, bars());
      tile.el.append(tile.quality);
    }
    const name = this.room.people.get(pid)?.name || '';
    tile.quality.dataset.level = s.level;
    tr(tile.quality, 'quality_of', {name, level: t('q_' + s.level)}, 'aria-label');
    tr(tile.quality, 'quality_of', {name, level: t('q_' + s.level)}, 'title');
    tile.summary = s;
    if (this.open?.pid === pid) this.fill();
  }

  details(pid) {
    this.close();
    const button = this.room.view.grid.tiles.get(pid).quality;
    const card = h('div', {class: 'card popup quality-card', id: 'quality-details', role: 'dialog', tabindex: '-1'});
    this.open = {pid, button, card};
    this.fill();
    const box = button.getBoundingClientRect(); // below the bars in the upper half, else above
    card.style.right = Math.max(8, innerWidth - box.right) + 'px';
    if (box.top < innerHeight / 2) card.style.top = box.bottom + 6 + 'px';
    else card.style.bottom = innerHeight - box.top + 6 + 'px';
    document.body.append(card);
    button.setAttribute('aria-expanded', 'true');
    button.setAttribute('aria-controls', card.id);
    addEventListener('pointerdown', this.outside, true);
    addEventListener('keydown', this.outside);
    card.focus();
  }

  fill() {
    const {pid, card} = this.open;
    const s = this.room.view.grid.tiles.get(pid)?.summary;
    if (!s) return this.close();
    const name = this.room.people.get(pid)?.name || '';
    const path = !s.connected ? '—' : s.relayed ? t(s.protocol ? 'q_relayed_over' : 'q_relayed',
      {protocol: (s.protocol || '').toUpperCase()}) : t('q_direct');
    const video = s.width ? `${s.width} × ${s.height}` + (s.fps ? `, ${Math.round(s.fps)} fps` : '') : '—';
    const rows = [['q_rtt', ms(s.rtt)], ['q_loss', percent(s.loss)], ['q_bitrate', rate(s.bitrate)],
      ['q_resolution', video], ['q_path', path]];
    card.setAttribute('aria-label', t('quality_title', {name}));
    card.replaceChildren(h('h3', {}, t('quality_of', {name, level: t('q_' + s.level)})),
      h('dl', {}, rows.flatMap(([key, value]) => [h('dt', {}, t(key)), h('dd', {'data-row': key.slice(2)}, value)])));
  }

  close(focus) {
    if (!this.open) return;
    const {button, card} = this.open;
    this.open = null;
    card.remove();
    button.setAttribute('aria-expanded', 'false');
    removeEventListener('pointerdown', this.outside, true);
    removeEventListener('keydown', this.outside);
    if (focus) button.focus();
  }

  destroy() {
    this.close();
    this.notice.remove();
  }
}
