// The room's device switch: camera, microphone and speaker lists in a card above the control
// bar. Loaded with import() the first time it is opened (and by the room's tools, for the speaker).
import {h} from './dom.js';
import {t} from '../i18n.js';
import {listDevices} from '../media.js';
import {prefs} from '../store.js';

// Where the browser lets a page choose its speaker (setSinkId; Chrome, Edge, Firefox 116+).
export const canPickOutput = () => 'setSinkId' in HTMLMediaElement.prototype;

// The remembered speaker for these media elements; one that is gone leaves the default.
export function useOutput(elements, id = prefs.get('output')) {
  if (!id || !canPickOutput()) return;
  for (const el of elements) if (el.sinkId !== id) el.setSinkId(id).catch(() => {});
}

// current(kind) → the device id in use; pick(kind, id); onClose(). → {el, close()}: it also
// closes on Escape and on a click outside it.
export async function devicesMenu({current, pick, onClose}) {
  const devices = await listDevices();
  const list = (kind, id, label) => {
    const sel = h('select', {id, onchange: () => (kind === 'output' ? speaker(sel.value) : pick(kind, sel.value))},
      devices[kind].map((d, i) => h('option', {value: d.deviceId}, d.label || t(label) + ' ' + (i + 1))));
    const now = kind === 'output' ? prefs.get('output') : current(kind);
    if (now) sel.value = now;
    return [h('label', {for: id, i18n: label}), sel];
  };
  const speaker = (id) => { // no renegotiation: only where this page plays the sound changes
    prefs.set('output', id);
    useOutput(document.querySelectorAll('.tile video'), id);
  };
  const el = h('div', {class: 'card devices', id: 'devices-menu', role: 'dialog', i18nLabel: 'devices'},
    list('video', 'room-camera', 'camera'), list('audio', 'room-mic', 'microphone'),
    canPickOutput() && devices.output.length > 0 && list('output', 'room-speaker', 'speaker'));
  const outside = (e) => {
    if (e.type === 'keydown' ? e.key === 'Escape' : !el.contains(e.target) && !e.target.closest?.('#devices')) close();
  };
  function close() {
    el.remove();
    removeEventListener('pointerdown', outside);
    removeEventListener('keydown', outside);
    onClose();
  }
  addEventListener('pointerdown', outside);
  addEventListener('keydown', outside);
  return {el, close};
}
