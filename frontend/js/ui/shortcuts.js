// Keyboard shortcuts of the room (single keys, as in Jitsi) and the dialog that lists them.
// A key does nothing while the person types in a field, or with Ctrl, Alt or Meta held, so
// the browser's and the screen reader's own shortcuts keep working.
import {h, icon} from './dom.js';

// key → [i18n key of what it does, action name]
export const KEYS = [['M', 'key_mic', 'mic'], ['V', 'key_cam', 'cam'], ['R', 'key_hand', 'hand'],
  ['C', 'key_chat', 'chat'], ['P', 'key_people', 'people'], ['?', 'key_help', 'help']];

const typing = (el) => el?.closest?.('input, textarea, select, [contenteditable=""], [contenteditable=true]');

export class Shortcuts {
  // actions: {mic(), cam(), hand(), chat(), people()}
  constructor(actions) {
    this.actions = {...actions, help: () => this.show()};
    this.dialog = h('dialog', {class: 'card shortcuts', id: 'shortcuts', 'aria-labelledby': 'shortcuts-title'},
      h('header', {}, h('h2', {id: 'shortcuts-title', i18n: 'shortcuts'}),
        h('button', {type: 'button', class: 'x', i18nLabel: 'close', onclick: () => this.dialog.close()}, '×')),
      h('dl', {}, KEYS.flatMap(([key, what]) => [h('dt', {}, h('kbd', {}, key)), h('dd', {i18n: what})])),
      h('p', {class: 'subtitle', i18n: 'key_note'}));
    this.button = h('button', {type: 'button', class: 'round', id: 'show-shortcuts', i18nLabel: 'shortcuts',
      onclick: () => this.show()}, icon('keys'));
    this.onkey = (e) => {
      if (e.ctrlKey || e.altKey || e.metaKey || e.repeat || typing(e.target) || this.dialog.open) return;
      const found = KEYS.find(([key]) => key === e.key.toUpperCase());
      if (!found) return;
      e.preventDefault();
      this.actions[found[2]]();
    };
    addEventListener('keydown', this.onkey);
  }

  show() {
    if (!this.dialog.isConnected) document.body.append(this.dialog);
    this.dialog.showModal();
  }

  close() {
    removeEventListener('keydown', this.onkey);
    this.dialog.remove();
  }
}
