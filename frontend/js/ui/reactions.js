// Reactions: a row of emoji above the control bar; the one picked floats up over the sender's
// tile for about three seconds on every page. Sending is fire-and-forget: one the server
// refuses (too many in a row) is dropped without a word, as a reaction is not worth one.
import {h, icon} from './dom.js';
import {t} from '../i18n.js';

export const EMOJI = ['👍', '👏', '😂', '❤️', '🎉', '😮']; // the server accepts exactly these
const FLOAT_MS = 3000;

export class Reactions {
  // me: my id; send(emoji) → Promise; tile(pid) → the tile's element or undefined; name(pid).
  constructor({me, send, tile, name}) {
    Object.assign(this, {me, send, tile, name});
    this.menu = h('div', {class: 'card reactions', id: 'reactions-menu', role: 'toolbar', hidden: true,
      i18nLabel: 'reactions'}, EMOJI.map((emoji) => h('button', {type: 'button', class: 'emoji',
      'data-emoji': emoji, i18nLabel: 'emoji_' + emoji, onclick: () => this.pick(emoji)}, emoji)));
    this.button = h('button', {type: 'button', class: 'round', id: 'toggle-reactions', i18nLabel: 'reactions',
      'aria-controls': 'reactions-menu', 'aria-expanded': 'false', onclick: () => this.show(this.menu.hidden)},
    icon('smile'));
    this.outside = (e) => {
      if (e.type === 'keydown' ? e.key === 'Escape' : !this.menu.contains(e.target) && !this.button.contains(e.target)) {
        this.show(false);
      }
    };
  }

  show(open) {
    this.menu.hidden = !open;
    this.button.setAttribute('aria-expanded', open);
    for (const type of ['pointerdown', 'keydown']) {
      if (open) addEventListener(type, this.outside); else removeEventListener(type, this.outside);
    }
    if (open) this.menu.querySelector('button').focus();
  }

  pick(emoji) { // shown here at once; the others see it when the server has pushed it
    this.float(this.me, emoji);
    this.send(emoji).catch(() => {});
  }

  float(pid, emoji) {
    const tile = this.tile(pid);
    if (!tile || !EMOJI.includes(emoji)) return;
    const el = h('span', {class: 'reaction', role: 'img', 'aria-label': t('reacted', {name: this.name(pid), emoji})},
      emoji);
    el.style.left = 15 + Math.random() * 60 + '%';
    tile.append(el);
    setTimeout(() => el.remove(), FLOAT_MS);
  }

  close() { this.show(false); }
}
