// The people list: name, live connection status (connected / reconnecting / can't connect), mic and camera.
import {h, icon} from './dom.js';
import {tr} from '../i18n.js';

export class Roster {
  constructor(me) {
    this.me = me;
    this.rows = new Map();
    this.el = h('ul', {class: 'roster', id: 'roster'});
  }

  set(p) {
    let r = this.rows.get(p.id);
    if (!r) {
      r = {avatar: h('b'), name: h('span', {class: 'who'}),
        status: h('span', {class: 'status'}), icons: h('span', {class: 'icons'})};
      r.el = h('li', {'data-pid': p.id}, r.avatar, h('span', {class: 'person'}, r.name, r.status), r.icons);
      this.rows.set(p.id, r);
      this.el.append(r.el);
    }
    r.avatar.textContent = p.name.trim().charAt(0).toUpperCase();
    r.name.replaceChildren(p.name, p.id === this.me ? h('span', {class: 'tag', i18n: 'you'}) : '');
    r.p = p;
    const status = p.connected === false ? 'reconnecting' : r.trouble ? 'unreachable' : 'connected';
    r.el.dataset.status = status;
    tr(r.status, status);
    r.icons.replaceChildren(icon(p.audio ? 'mic' : 'micOff'), icon(p.video ? 'cam' : 'camOff'));
  }

  // The media connection to pid cannot be made (its socket may still be there).
  setTrouble(pid, on) {
    const r = this.rows.get(pid);
    if (!r) return;
    r.trouble = on;
    this.set(r.p);
  }

  remove(pid) {
    this.rows.get(pid)?.el.remove();
    this.rows.delete(pid);
  }
}
