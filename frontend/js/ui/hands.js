// Raised hands: my button, everyone's hand (tiles.js draws it from data-hand), the people list
// with raised hands first in the order raised, and for hosts a toast and a Lower hand button.
import {h, icon} from './dom.js';
import {t, errorText} from '../i18n.js';
import {toast} from './toasts.js';

export class Hands {
  // room: the Room; moderator() → whether I may lower others' hands
  constructor(room, moderator) {
    Object.assign(this, {room, moderator, raised: new Map()}); // pid → hand up when last seen
    this.button = h('button', {type: 'button', class: 'round', id: 'toggle-hand', 'aria-pressed': 'false',
      onclick: () => this.toggle()}, icon('hand'));
  }

  get mine() { return !!this.room.people.get(this.room.me)?.hand; }

  toggle() {
    const up = !this.mine;
    this.room.patch({hand: up});
    this.room.set({id: this.room.me, handRaisedAt: up ? new Date().toISOString() : null});
  }

  show() {
    const up = this.mine;
    this.button.setAttribute('aria-pressed', up);
    this.button.setAttribute('aria-label', t(up ? 'lower_hand' : 'raise_hand'));
    this.button.title = this.button.getAttribute('aria-label');
  }

  lower(p) {
    const {api, mid} = this.room;
    api.call('PATCH', api.path(mid) + '/participants/' + encodeURIComponent(p.id), {hand: false})
      .catch((e) => toast(errorText(e), 'error'));
  }

  // After any change to p (roster.js has just redrawn its row: ours go back each time).
  person(p, row, quiet) {
    const {me} = this.room;
    if (row && p.hand) {
      row.icons.prepend(h('span', {class: 'hand', role: 'img', 'aria-label': t('hand_up')}, icon('hand')));
      if (this.moderator() && p.id !== me) {
        const label = t('lower_their_hand', {name: p.name});
        row.icons.append(h('button', {type: 'button', class: 'lower', 'aria-label': label, title: label,
          onclick: () => this.lower(p)}, t('lower_hand')));
      }
    }
    const was = this.raised.get(p.id);
    this.raised.set(p.id, !!p.hand);
    if (!quiet && p.hand && !was && p.id !== me && this.moderator()) toast(t('hand_raised', {name: p.name}));
    if (p.id === me) this.show();
  }

  // A host lowered my hand (the server tells the owner only then).
  loweredByHost(p) {
    if (p.hand || !this.mine) return;
    this.room.set({id: this.room.me, hand: false, handRaisedAt: null});
    toast(t('hand_lowered_by_host'));
  }

  gone(pid) { this.raised.delete(pid); }
}

// Raised hands first, by the time they went up; everyone else in the order they joined.
export function orderRoster(roster) {
  const rows = [...roster.rows.values()];
  const when = (r) => (r.p.hand ? Date.parse(r.p.handRaisedAt || '') || 0 : Infinity);
  rows.sort((a, b) => when(a) - when(b)); // stable: the rest keep their order
  const current = [...roster.el.children];
  if (rows.some((r, i) => current[i] !== r.el)) roster.el.append(...rows.map((r) => r.el));
}
