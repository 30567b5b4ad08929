// Pre-join: camera preview, mic level, device choice, start muted / camera off, name, passcode.
import {h, toggleButton, setToggle} from './dom.js';
import {tr, errorText} from '../i18n.js';
import {openMedia, swapTrack, levelMeter, stopStream, mediaError, listDevices, watchPermissions} from '../media.js';
import {prefs} from '../store.js';

// onJoin({name, passcode, stream, audio, video}) may reject with an ApiError; destroy(keep).
export function prejoinView({meeting, onJoin, onBack}) {
  let stream = new MediaStream();
  let audio = true;
  let video = true;
  let meter = levelMeter();
  const track = (kind) => stream?.getTracks().find((x) => x.kind === kind); // null once destroyed

  const preview = h('video', {class: 'mirror', autoplay: true, muted: true, playsInline: true, i18nLabel: 'camera'});
  const camOff = h('p', {i18n: 'cam_is_off', hidden: true});
  const level = h('div');
  const micBtn = toggleButton('mic', true, () => {
    setToggle(micBtn, 'mic', (audio = !audio));
    if (track('audio')) track('audio').enabled = audio;
  });
  const camBtn = toggleButton('cam', true, () => setVideo(!video));
  const name = h('input', {id: 'display-name', required: true, maxlength: 40, autocomplete: 'name',
    value: prefs.get('name')});
  const passLabel = h('label', {for: 'passcode', i18n: 'passcode', hidden: !meeting.hasPasscode});
  const pass = h('input', {id: 'passcode', type: 'password', maxlength: 64, hidden: !meeting.hasPasscode});
  const camSel = h('select', {id: 'camera-select', onchange: () => swap('video', camSel.value)});
  const micSel = h('select', {id: 'mic-select', onchange: () => swap('audio', micSel.value)});
  const mediaMsg = h('p', {class: 'warn-text', role: 'alert', id: 'media-message'});
  const retry = h('button', {type: 'button', id: 'media-retry', i18n: 'retry', onclick: () => again()});
  const without = h('button', {type: 'button', id: 'join-without', i18n: 'join_without', onclick: () => submit(true)});
  const error = h('p', {class: 'error', role: 'alert', id: 'join-error'});
  const joinBtn = h('button', {type: 'submit', class: 'primary', id: 'join-button', i18n: 'join_now'});
  const el = h('main', {class: 'prejoin'},
    h('section', {}, h('div', {class: 'preview'}, preview, camOff), h('div', {}, micBtn, camBtn,
      h('div', {class: 'level', role: 'img', i18nLabel: 'mic_level'}, level))),
    h('form', {class: 'card', onsubmit: (e) => { e.preventDefault(); submit(); }},
      h('h1', {i18n: 'prejoin_title'}), h('p', {class: 'subtitle'}, meeting.name),
      h('label', {for: 'display-name', i18n: 'your_name'}), name, passLabel, pass,
      h('label', {for: 'camera-select', i18n: 'camera'}), camSel,
      h('label', {for: 'mic-select', i18n: 'microphone'}), micSel,
      mediaMsg, retry, without, error, joinBtn, h('button', {type: 'button', class: 'link', i18n: 'back', onclick: onBack})));

  function showMediaError(code) {
    mediaMsg.hidden = !code;
    retry.hidden = without.hidden = !code || code === 'switch_kept';
    if (code) tr(mediaMsg, code);
  }

  async function refresh() {
    const cam = track('video');
    preview.srcObject = cam ? new MediaStream([cam]) : null;
    camOff.hidden = !!cam;
    if (track('audio')) track('audio').enabled = audio;
    setToggle(micBtn, 'mic', audio && !!track('audio'));
    setToggle(camBtn, 'cam', !!cam);
    micBtn.disabled = !track('audio');
    camBtn.disabled = video && !cam; // wanted, but there is no camera
    meter.stop();
    meter = levelMeter(track('audio'), (v) => level.style.setProperty('--level', audio ? v : 0));
    const devices = await listDevices();
    for (const [sel, kind] of [[camSel, 'video'], [micSel, 'audio']]) {
      sel.replaceChildren(...devices[kind].map((d, i) => h('option', {value: d.deviceId}, d.label || kind + ' ' + (i + 1))));
      sel.value = track(kind)?.getSettings().deviceId || '';
      sel.disabled = !track(kind);
    }
  }

  async function start() { // again: what is open stops first (a phone opens one camera at a time)
    stopStream(stream);
    const res = await openMedia({video});
    if (!stream) return stopStream(res.stream); // the view is gone
    stream = res.stream;
    showMediaError(res.error);
    refresh();
  }

  async function swap(kind, id) {
    try {
      await swapTrack(stream, kind, id);
      showMediaError(null);
    } catch (e) {
      showMediaError(e.kept ? 'switch_kept' : mediaError(e));
    }
    refresh();
  }

  function setVideo(on) { // off stops the camera, so its light goes out
    const cam = track('video');
    video = on;
    if (on) swap('video', camSel.value || undefined);
    else if (cam) { stream.removeTrack(cam); cam.stop(); refresh(); }
  }

  async function submit(without) {
    error.textContent = '';
    if (!name.value.trim()) return name.reportValidity();
    prefs.set('name', name.value.trim());
    joinBtn.disabled = true;
    await starting; // the camera may still be starting
    if (without) { stopStream(stream); stream = new MediaStream(); refresh(); }
    try {
      await onJoin({name: name.value.trim(), passcode: pass.value || undefined, stream,
        audio: audio && !!track('audio'), video: video && !!track('video')});
    } catch (err) {
      joinBtn.disabled = false;
      error.textContent = errorText(err);
      if (/^passcode|^too_many/.test(err.code)) pass.hidden = passLabel.hidden = false;
      if (!pass.hidden) pass.select();
    }
  }

  showMediaError(null);
  let starting = start();
  const again = () => { // not while joining: the room gets this stream
    if (!joinBtn.disabled) starting = starting.then(start);
  };
  // allowed in the address bar after all: no reload needed
  const unwatch = watchPermissions((kind, state) => {
    if (state === 'granted' && !track(kind) && (kind === 'audio' || video)) again();
  });
  navigator.mediaDevices?.addEventListener('devicechange', refresh);
  return {
    el,
    focus: () => (name.value ? joinBtn : name).focus(),
    destroy(keep) {
      meter.stop();
      unwatch();
      navigator.mediaDevices?.removeEventListener('devicechange', refresh);
      if (!keep) stopStream(stream);
      stream = null;
    },
  };
}
