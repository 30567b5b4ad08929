// The bandwidth-aware mesh, wired into the room (loaded with the room's tools): this page tells
// each sender how big it shows them (tileviews.js), and shapes what it sends to each peer from
// what they told it (../shaping.js). Off with `?shaping=off` in the page's address (before the
// `#/<mid>`), or `shaping: false` in config.js: then neither, every peer gets the browser's
// default encoding (the benchmark's unshaped baseline).
import config from '../../config.js';
import {TileViews} from './tileviews.js';
import {Shaper} from '../shaping.js';

export const shapingOn = () => config.shaping !== false && new URLSearchParams(location.search).get('shaping') !== 'off';

export function bandwidthAwareMesh(room) {
  const on = shapingOn();
  const views = on ? new TileViews(room, (peer, view) => peer?.post('view', {view})) : null;
  const shaper = on ? new Shaper(room) : null;
  const mesh = {
    peer(peer) { views?.peer(peer); shaper?.apply(peer); },
    view(tk) { shaper?.view(tk.from, tk.data?.view); },
    stats(reports) { shaper?.stats(reports); },
    gone(pid) { views?.gone(pid); shaper?.gone(pid); },
    resync() { views?.resend(); },
    close() {
      views?.close();
      shaper?.close();
      delete window.__parleyMesh;
    },
  };
  for (const peer of room.peers.values()) mesh.peer(peer);
  // Read-only, for tests and the benchmark: the views this page sent and was sent, and per peer
  // the RTP figures of what goes each way.
  Object.defineProperty(window, '__parleyMesh', {configurable: true, value: Object.freeze({
    shaping: on,
    shown: () => Object.fromEntries(views ? views.sent : []),
    told: () => Object.fromEntries(shaper ? shaper.views : []),
    rtp: () => rtp(room),
  })});
  return mesh;
}

// {pid: {out: {video, audio}, in: {video, audio}}}, each {bytes, width, height, fps, active}: our
// camera and mic as sent to them (with their `encoding` parameters), theirs as received
// (not a screen share's).
async function rtp(room) {
  const out = {};
  await Promise.all([...room.peers.values()].map(async (peer) => {
    const mine = {out: {}, in: {}};
    const camera = {audio: peer.transceivers.audio?.mid, video: peer.transceivers.video?.mid};
    (await peer.pc.getStats()).forEach((r) => {
      const side = {'outbound-rtp': 'out', 'inbound-rtp': 'in'}[r.type];
      if (!side) return;
      if (side === 'out' && r.mid && camera[r.kind] && r.mid !== camera[r.kind]) return;
      if (side === 'in' && r.trackIdentifier && !peer.stream.getTrackById(r.trackIdentifier)) return;
      mine[side][r.kind] = {bytes: r.bytesSent ?? r.bytesReceived ?? 0, width: r.frameWidth || 0,
        height: r.frameHeight || 0, fps: r.framesPerSecond || 0, active: r.active};
    });
    for (const kind of ['audio', 'video']) {
      const encoding = peer.transceivers[kind]?.sender.getParameters().encodings?.[0];
      if (mine.out[kind] && encoding) mine.out[kind].encoding = {...encoding};
    }
    out[peer.id] = mine;
  }));
  return out;
}
