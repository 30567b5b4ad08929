// Short notices above the control bar, announced to screen readers.
import {h} from './dom.js';

let region;

export function toast(text, kind = 'info', ms = 4000) {
  if (!region?.isConnected) document.body.append(region = h('div', {class: 'toasts', role: 'status'}));
  const el = h('div', {class: 'toast ' + kind}, text);
  region.append(el);
  setTimeout(() => el.remove(), ms);
  return el;
}
