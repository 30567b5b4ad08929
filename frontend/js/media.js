// Camera and microphone: getUserMedia with clear failure codes, devices, a mic level meter.
import {prefs} from './store.js';

export const mediaError = (e) => ({NotAllowedError: 'media_denied', SecurityError: 'media_denied',
  NotFoundError: 'media_none', NotReadableError: 'media_busy'}[e?.name] || 'media_error'); // → i18n key

// A chosen device is `ideal`, not `exact`: if it is gone, any device of the kind will do.
const want = (kind, id = prefs.get(kind)) => ({[kind]: {deviceId: id ? {ideal: id} : undefined,
  ...(kind === 'video' ? {width: {ideal: 1280}, height: {ideal: 720}} : {echoCancellation: true})}});

const gum = (c) => navigator.mediaDevices.getUserMedia(c);

// A new `kind` track (device `id` or the remembered one) replaces the old one in `stream`.
export async function swapTrack(stream, kind, id) {
  const [next] = (await gum(want(kind, id))).getTracks();
  if (id) prefs.set(kind, id);
  for (const old of stream.getTracks()) {
    if (old.kind === kind) { next.enabled = old.enabled; stream.removeTrack(old); old.stop(); }
  }
  stream.addTrack(next);
}

// Both at once; failing that, each alone (a laptop without a camera still has a mic).
// → {stream with 0–2 tracks, error: i18n key when there is no track at all}
export async function openMedia({audio = true, video = true} = {}) {
  const stream = new MediaStream();
  if (!navigator.mediaDevices?.getUserMedia) return {stream, error: 'no_gum'};
  let error = null;
  try {
    if (audio && video) return {stream: await gum({...want('audio'), ...want('video')}), error};
  } catch (e) {
    if ((error = mediaError(e)) === 'media_denied') return {stream, error};
  }
  for (const kind of ['audio', 'video']) {
    if (kind === 'audio' ? audio : video) await swapTrack(stream, kind).catch((e) => { error ||= mediaError(e); });
  }
  return {stream, error: stream.getTracks().length ? null : error};
}

export async function listDevices() {
  const out = {audio: [], video: []};
  try {
    for (const d of await navigator.mediaDevices.enumerateDevices()) out[d.kind.slice(0, 5)]?.push(d);
  } catch { /* no list: selectors stay empty */ }
  return out;
}

export const stopStream = (stream) => stream?.getTracks().forEach((t) => t.stop());

// onLevel(0..1) every frame; without a track, a meter that does nothing.
export function levelMeter(track, onLevel) {
  if (!track || !window.AudioContext) return {stop() {}};
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const buf = new Uint8Array(analyser.fftSize);
  const resume = () => ctx.state === 'suspended' && ctx.resume().catch(() => {});
  addEventListener('pointerdown', resume);
  resume();
  let raf;
  (function tick() {
    analyser.getByteTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += (v - 128) ** 2;
    onLevel(Math.min(1, Math.sqrt(sum / buf.length) / 40));
    raf = requestAnimationFrame(tick);
  })();
  return {stop() {
    cancelAnimationFrame(raf);
    removeEventListener('pointerdown', resume);
    ctx.close().catch(() => {});
  }};
}
