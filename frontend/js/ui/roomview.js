// The room screen: video grid, bottom control bar, people panel and reconnect banner.
// It renders what room.js tells it; room.js decides.
import {h, icon, toggleButton, setToggle} from './dom.js';
import {t} from '../i18n.js';
import {Grid} from './tiles.js';
import {Roster} from './roster.js';
import {toast} from './toasts.js';

// on: {mic(), cam(), devices(), leave(), copy(), retry(pid)}
export function roomView({meeting, me, on}) {
  // Autoplay with sound refused: tiles play muted until one click or key press anywhere, which
  // unmutes and plays them all. Notice and listeners go then, or when the room does.
  const blocked = [];
  let note = null;
  const stopAsking = () => {
    blocked.length = 0;
    note?.remove();
    note = null;
    removeEventListener('click', unmuteAll, true);
    removeEventListener('keydown', unmuteAll, true);
  };
  const unmuteAll = () => {
    blocked.forEach((unmute) => unmute());
    stopAsking();
  };
  const grid = new Grid({retry: on.retry, soundBlocked(unmute) {
    if (blocked.push(unmute) > 1) return;
    note = toast(t('sound_blocked'), 'info', 600e3);
    addEventListener('click', unmuteAll, true);
    addEventListener('keydown', unmuteAll, true);
  }});
  const roster = new Roster(me);
  const banner = h('div', {class: 'banner', role: 'status', id: 'reconnect-banner', hidden: true, i18n: 'ws_reconnecting'});
  const count = h('span', {class: 'count'});
  const panel = h('aside', {class: 'panel', id: 'panel', hidden: true, 'aria-labelledby': 'panel-title'},
    h('header', {}, h('h2', {id: 'panel-title', i18n: 'people'}),
      h('button', {type: 'button', class: 'x', i18nLabel: 'close', onclick: () => show(false)}, '×')),
    roster.el);
  const button = (id, name, label, onclick, ...extra) =>
    h('button', {type: 'button', class: 'round', id, i18nLabel: label, onclick}, icon(name), ...extra);
  const people = button('toggle-people', 'people', 'people', () => show(panel.hidden), count);
  people.setAttribute('aria-controls', 'panel');
  // One side panel at a time: opening one closes the other (`sides`: chat adds its own).
  const sides = [];
  const show = (open) => {
    if (open) sides.forEach((close) => close());
    panel.hidden = !open;
    people.setAttribute('aria-expanded', open);
  };
  show(false);
  const micBtn = toggleButton('mic', true, on.mic);
  const camBtn = toggleButton('cam', true, on.cam);
  const stage = h('div', {class: 'stage'}, grid.el, panel);
  const tools = h('div', {}, micBtn, camBtn, button('devices', 'tune', 'devices', on.devices),
    button('copy-link', 'link', 'copy_link', on.copy),
    h('button', {type: 'button', class: 'round leave', id: 'leave-button', i18nLabel: 'leave', onclick: on.leave},
      icon('leave')));
  const side = h('div', {}, people);
  const el = h('div', {class: 'room'}, banner, stage,
    h('footer', {class: 'bar'}, h('div', {}, h('b', {id: 'meeting-title'}, meeting.name)), tools, side));

  const recount = () => { count.textContent = roster.rows.size; };
  return {
    el, stage, tools, side, grid, roster,
    // another side panel opens: people closes; returns what closes people
    aside(close) { sides.push(close); return () => show(false); },
    // a bot is never a tile nor a row (a recorder has its banner), but a streamer
    add(p, self) { if (p.role != 'bot' || p.bot == 'streamer') grid.add(p, self), roster.set(p), recount(); },
    update(p) { if (p.role != 'bot' || p.bot == 'streamer') grid.tiles.get(p.id)?.update(p), roster.set(p); },
    remove(pid) { grid.remove(pid); roster.remove(pid); recount(); },
    setStream(pid, stream) { grid.tiles.get(pid)?.setStream(stream); },
    setState(pid, state) { grid.tiles.get(pid)?.setState(state); },
    setTrouble(pid, on) { grid.tiles.get(pid)?.setTrouble(on); roster.setTrouble(pid, on); },
    setLocal({audio, video}) { setToggle(micBtn, 'mic', audio); setToggle(camBtn, 'cam', video); },
    setBanner(shown) { banner.hidden = !shown; },
    destroy() { grid.resize.disconnect(); stopAsking(); },
  };
}
