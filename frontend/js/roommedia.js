// The room's own camera and microphone when something goes wrong, loaded the first time it is
// needed: a device that stops by itself is opened again (three tries), a device that will not
// start is explained with Try again, and a switch to another device. Functions of the Room.
import {swapTrack, stopStream, mediaError} from './media.js';
import {h} from './ui/dom.js';
import {toast} from './ui/toasts.js';
import {t} from './i18n.js';

// A new `kind` track (device `id`, else the remembered one) for every peer, `tries` times a
// second apart. → null, or the error (`kept`: the device we had is back). A kind that was on
// and is left without a track is off for everyone.
export async function swap(room, kind, id, tries = 1) {
  let error;
  for (let i = 0; i < tries && !room.closed; i++) {
    if (i) await new Promise((r) => setTimeout(r, 1e3));
    error = await swapTrack(room.stream, kind, id).then(() => null, (e) => e);
    if (!error || error.kept) break;
  }
  if (room.closed) { // left meanwhile: nothing may stay open
    stopStream(room.stream);
    return {closed: true};
  }
  if (room.track('audio')) room.track('audio').enabled = room.audio;
  room.watch();
  room.peers.forEach((p) => p.setTracks(room.stream));
  room.showSelf();
  if (room.track(kind)) unnote(room, kind);
  else if (room[kind]) {
    room[kind] = false;
    room.patch({[kind]: false});
  }
  return error;
}

// Our own track ended by itself (unplugged, permission revoked) or the system kept it muted.
export async function lost(room, track) {
  const {kind} = track;
  if (room.closed || room.track(kind) !== track) return;
  const error = await swap(room, kind, undefined, 3);
  if (!error || error.kept) toast(t('back_' + kind));
  else failed(room, [kind], mediaError(error), t('lost_' + kind));
}

// Why camera or mic (`kinds`) did not start, and Try again; once the browser's permission
// allows them, they are tried again by themselves (room.js watches the permission).
export function failed(room, kinds, code, before = '') {
  if (room.closed) return;
  const again = h('button', {type: 'button', i18n: 'retry', onclick: () => retry(room, kinds)});
  const text = t({media_denied: 'room_denied', media_none: 'room_none'}[code] || code);
  const note = toast(h('span', {}, before, ' ', text, ' ', again), 'error', 30e3);
  for (const kind of kinds) {
    unnote(room, kind);
    room.notes[kind] = note;
  }
}

function unnote(room, kind) {
  room.notes[kind]?.remove();
  delete room.notes[kind];
}

export async function retry(room, kinds) {
  for (const kind of kinds) {
    unnote(room, kind);
    await (kind === 'video' ? room.setVideo(true) : room.setAudio(true));
  }
}
