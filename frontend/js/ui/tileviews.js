// The receiving side of the bandwidth-aware mesh: how big this page shows each remote camera,
// told to its sender (a `view` ticket) so it sends no more than that needs (shaping.js).
//   main      the main view (pinned, spotlight, the speaker) or full screen
//   large     a tile at least LARGE px wide (device pixels): the plain grid of a few people
//   thumbnail a smaller tile: the strip beside the main view, the grid of many
//   hidden    not on screen: scrolled out of the strip, display:none, or the tab hidden
// Each class is worked out again (debounced) when something that changes it happens: a tile's
// visibility (IntersectionObserver) or size (ResizeObserver), the main view moving (its class),
// full screen, the tab's visibility; and once a second for anything missed. A view is sent only
// when it changes, and again to a peer whose connection (re)connects (a renegotiation, an ICE
// restart, their page coming back) or after our socket came back: the sender may have lost it.

const LARGE = 400; // device px: narrower is a thumbnail
const SETTLE = 250; // ms after a change before the views are worked out
const SWEEP = 1000;

export function viewOf(el) {
  if (document.visibilityState === 'hidden' || !el.isConnected || !el.getClientRects().length) return 'hidden';
  if (document.fullscreenElement === el || el.classList.contains('main')) return 'main';
  return el.getBoundingClientRect().width * (devicePixelRatio || 1) >= LARGE ? 'large' : 'thumbnail';
}

export class TileViews {
  // room: the Room (peers, people, view.grid); send(peer, view): tell that peer
  constructor(room, send) {
    Object.assign(this, {room, send, sent: new Map(), visible: new Map(), watched: new WeakSet()}); // watched: tiles and peers
    this.onchange = () => this.schedule();
    this.seen = new IntersectionObserver((entries) => {
      for (const e of entries) this.visible.set(e.target, e.isIntersecting);
      this.schedule();
    });
    this.sized = new ResizeObserver(this.onchange);
    this.classes = new MutationObserver(this.onchange); // the main view moving
    this.classes.observe(room.view.grid.el, {subtree: true, attributes: true, attributeFilter: ['class']});
    document.addEventListener('visibilitychange', this.onchange);
    document.addEventListener('fullscreenchange', this.onchange);
    this.timer = setInterval(() => this.update(), SWEEP);
    this.schedule();
  }

  schedule() { this.pending ??= setTimeout(() => this.update(), SETTLE); }

  // What each remote camera is shown as now ({pid: view}), for peers with a tile.
  current() {
    const out = {};
    for (const [pid, peer] of this.room.peers) {
      const tile = this.room.view.grid.tiles.get(pid);
      if (!tile || peer.closed || this.room.people.get(pid)?.role === 'bot') continue;
      if (!this.watched.has(tile.el)) {
        this.watched.add(tile.el);
        this.seen.observe(tile.el);
        this.sized.observe(tile.el);
      }
      const view = viewOf(tile.el);
      out[pid] = view !== 'hidden' && this.visible.get(tile.el) === false ? 'hidden' : view;
    }
    return out;
  }

  update() {
    clearTimeout(this.pending);
    this.pending = null;
    if (this.room.closed) return;
    for (const [pid, view] of Object.entries(this.current())) {
      if (this.sent.get(pid) === view) continue;
      this.sent.set(pid, view);
      this.send(this.room.peers.get(pid), view);
    }
  }

  // A new connection to `peer` (their page may have reloaded: what we told the old one is gone):
  // say how we show them now, and again whenever the connection comes back up after its first
  // time (a renegotiation or an ICE restart). Their page keeps views by person, so one sent
  // before the connection is up still counts.
  peer(peer) {
    if (this.watched.has(peer)) return;
    this.watched.add(peer);
    let up = false;
    peer.pc.addEventListener('connectionstatechange', () => {
      if (peer.pc.connectionState !== 'connected') return;
      if (up) this.resend(peer.id);
      up = true;
    });
    this.resend(peer.id);
  }

  resend(pid) {
    if (pid) this.sent.delete(pid); else this.sent.clear();
    this.schedule();
  }

  gone(pid) { this.sent.delete(pid); }

  close() {
    clearTimeout(this.pending);
    clearInterval(this.timer);
    this.seen.disconnect();
    this.sized.disconnect();
    this.classes.disconnect();
    document.removeEventListener('visibilitychange', this.onchange);
    document.removeEventListener('fullscreenchange', this.onchange);
  }
}
