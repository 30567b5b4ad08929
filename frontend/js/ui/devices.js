// The room's device switch: camera and microphone lists in a card above the control bar.
// Loaded with import() the first time it is opened.
import {h} from './dom.js';
import {t} from '../i18n.js';
import {listDevices} from '../media.js';

// current(kind) → the device id in use; pick(kind, id); onClose(). → {el, close()}: it also
// closes on Escape and on a click outside it.
export async function devicesMenu({current, pick, onClose}) {
  const devices = await listDevices();
  const list = (kind, id, label) => {
    const sel = h('select', {id, onchange: () => pick(kind, sel.value)},
      devices[kind].map((d, i) => h('option', {value: d.deviceId}, d.label || t(label) + ' ' + (i + 1))));
    if (current(kind)) sel.value = current(kind);
    return [h('label', {for: id, i18n: label}), sel];
  };
  const el = h('div', {class: 'card devices', id: 'devices-menu', role: 'dialog', i18nLabel: 'devices'},
    list('video', 'room-camera', 'camera'), list('audio', 'room-mic', 'microphone'));
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
