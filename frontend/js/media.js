// Camera and microphone: getUserMedia with clear failure codes, devices, a mic level meter.
import {prefs} from './store.js';

export const mediaError = (e) => ({NotAllowedError: 'media_denied', SecurityError: 'media_denied',
  NotFoundError: 'media_none', NotReadableError: 'media_busy'}[e?.name] || 'media_error'); // → i18n key

// A chosen device is `ideal`, not `exact`: if it is gone, any device of the kind will do.
const want = (kind, id = prefs.get(kind)) => ({[kind]: {deviceId: id ? {ideal: id} : undefined,
  ...(kind === 'video' ? {width: {ideal: 1280}, height: {ideal: 720}} : {echoCancellation: true})}});

const gum = (c) => navigator.mediaDevices.getUserMedia(c);

// A new `kind` track (device `id`, else the remembered one) replaces the old one in `stream`.
// The old one stops first: many phones cannot open a second camera while one is open. If the
// new one will not start, the old device is opened again and the error is still thrown, with
// `kept` set; an error without `kept` leaves `stream` without a `kind` track.
export async function swapTrack(stream, kind, id) {
  const old = stream.getTracks().find((t) => t.kind === kind);
  const open = async (device) => (await gum(want(kind, device))).getTracks()[0];
  let next, error;
  if (old) { stream.removeTrack(old); old.stop(); }
  try {
    next = await open(id);
    if (id) prefs.set(kind, id);
  } catch (e) {
    next = old && (await open(old.getSettings().deviceId).catch(() => null));
    if (!next) throw e;
    error = Object.assign(e, {kept: true});
  }
  next.enabled = old ? old.enabled : true;
  stream.addTrack(next);
  if (error) throw error;
}

// onLost() when `track` ends by itself (unplugged, permission revoked) or stays muted for 3 s
// while the page is in view (the system took the device; a hidden page may be paused on purpose).
export function watchTrack(track, onLost) {
  let timer;
  const check = () => {
    if (track.muted && track.readyState === 'live') timer = document.hidden ? setTimeout(check, 3e3) : onLost();
  };
  track.addEventListener('ended', onLost);
  track.addEventListener('mute', () => { clearTimeout(timer); timer = setTimeout(check, 3e3); });
  track.addEventListener('unmute', () => clearTimeout(timer));
  if (track.readyState === 'ended') setTimeout(onLost);
}

// onChange(kind, state) when the camera or microphone permission changes, where browsers
// tell (Permissions API). → stop()
export function watchPermissions(onChange) {
  let on = true;
  for (const [kind, name] of [['video', 'camera'], ['audio', 'microphone']]) {
    navigator.permissions?.query({name}).then((s) => { s.onchange = () => on && onChange(kind, s.state); }, () => {});
  }
  return () => { on = false; };
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

const KINDS = {audioinput: 'audio', videoinput: 'video', audiooutput: 'output'};

export async function listDevices() { // → {audio, video, output}: microphones, cameras, speakers
  const out = {audio: [], video: [], output: []};
  try {
    for (const d of await navigator.mediaDevices.enumerateDevices()) out[KINDS[d.kind]]?.push(d);
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
