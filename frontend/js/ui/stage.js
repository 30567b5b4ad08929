// The main view: which tile is shown large, with the others in a strip beside it.
//   1. a tile this page pinned (a click on it, or its pin button; again to unpin), else
//   2. the newest screen share of someone else (our own would mirror itself), else
//   3. in speaker layout, the active speaker (speaker.js decides who, with hysteresis).
// In grid layout with no pin and no share there is no main view: the plain grid.
// Each tile also gets a pin and a full-screen button.
import {h, icon} from './dom.js';
import {t, tr} from '../i18n.js';
import {prefs} from '../store.js';

export const screenId = (pid) => 'screen:' + pid; // never a participant id (those are [\w-])

export class Stage {
  // grid: tiles.js's Grid; me: my participant id; onTile(tile) for each new tile
  constructor(grid, me, onTile) {
    Object.assign(this, {grid, me, onTile, pinned: null, speaker: null, shares: []});
    this.layout = prefs.get('layout') === 'speaker' ? 'speaker' : 'grid';
    this.layoutBtn = h('button', {type: 'button', class: 'round', id: 'toggle-layout',
      onclick: () => this.setLayout(this.layout === 'grid' ? 'speaker' : 'grid')}, icon('layout'));
    this.onclick = (e) => {
      const tile = e.target.closest('.tile');
      if (tile && !e.target.closest('button')) this.pin(tile.dataset.pid);
    };
    grid.el.addEventListener('click', this.onclick);
    this.observer = new MutationObserver(() => this.decorate());
    this.observer.observe(grid.el, {childList: true});
    this.decorate();
    this.setLayout(this.layout);
  }

  // Pin and full-screen buttons on every tile, once.
  decorate() {
    for (const [id, tile] of this.grid.tiles) {
      if (tile.tools) continue;
      tile.pinBtn = h('button', {type: 'button', class: 'pin', 'aria-pressed': 'false', onclick: () => this.pin(id)},
        icon('pin'));
      tr(tile.pinBtn, 'pin', {}, 'aria-label');
      tr(tile.pinBtn, 'pin', {}, 'title');
      const full = h('button', {type: 'button', class: 'full', i18nLabel: 'full_screen',
        onclick: () => (document.fullscreenElement ? document.exitFullscreen() : tile.el.requestFullscreen())
          .catch(() => {})}, icon('full'));
      tile.tools = h('div', {class: 'tile-tools'}, tile.pinBtn, full);
      tile.el.append(tile.tools);
      this.onTile(tile);
    }
    this.apply();
  }

  pin(id) {
    this.pinned = this.pinned === id ? null : id;
    this.apply();
  }

  setLayout(layout) {
    this.layout = layout;
    prefs.set('layout', layout);
    const speaker = layout === 'speaker';
    this.layoutBtn.setAttribute('aria-pressed', speaker);
    tr(this.layoutBtn, 'speaker_layout', {}, 'aria-label');
    tr(this.layoutBtn, 'speaker_layout', {}, 'title');
    this.apply();
  }

  addShare(id) {
    this.shares = [...this.shares.filter((x) => x !== id), id];
    this.apply();
  }

  removeShare(id) {
    this.shares = this.shares.filter((x) => x !== id);
    if (this.pinned === id) this.pinned = null;
    this.apply();
  }

  setSpeaker(pid) {
    this.speaker = pid;
    if (this.layout === 'speaker') this.apply();
  }

  main() {
    const tiles = this.grid.tiles;
    if (tiles.has(this.pinned)) return this.pinned;
    const share = this.shares.filter((id) => id !== screenId(this.me) && tiles.has(id)).pop();
    if (share) return share;
    if (this.layout !== 'speaker' || tiles.size < 2) return null;
    // the speaker, else whoever is not me: the view of a conversation is the other person
    if (tiles.has(this.speaker) && this.speaker !== this.me) return this.speaker;
    return [...tiles.keys()].find((id) => id !== this.me) || null;
  }

  apply() {
    const main = this.main();
    this.grid.el.classList.toggle('has-main', !!main);
    for (const [id, tile] of this.grid.tiles) {
      tile.el.classList.toggle('main', id === main);
      tile.pinBtn?.setAttribute('aria-pressed', id === this.pinned);
      if (tile.pinBtn) tr(tile.pinBtn, id === this.pinned ? 'unpin' : 'pin', {}, 'aria-label');
    }
    if (!main) this.grid.layout();
  }

  close() {
    this.observer.disconnect();
    this.grid.el.removeEventListener('click', this.onclick);
  }
}
