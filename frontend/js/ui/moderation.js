// Host controls, for the host and co-hosts: a menu per person in the people list (mute, ask
// to unmute, camera off, lower hand, co-host, make host, remove) and a menu in the control bar
// for the whole meeting (mute everyone, lock, end for all). Everyone's page also shows who
// hosts (a tag in the people list, a chip by the meeting's name for oneself) and obeys what a
// host asks of it. Every action is a REST call the server authorises; this only draws them.
import {h, icon} from './dom.js';
import {t, errorText} from '../i18n.js';
import {toast} from './toasts.js';

const MODERATORS = ['host', 'cohost'];

// A yes/no question in a modal <dialog>; → Promise<boolean>.
export function confirmDialog(text, yes) {
  return new Promise((resolve) => {
    const answer = (value) => { dialog.close(); dialog.remove(); resolve(value); };
    const dialog = h('dialog', {class: 'card confirm', role: 'alertdialog', 'aria-label': text},
      h('p', {}, text),
      h('div', {class: 'row'},
        h('button', {type: 'button', i18n: 'cancel', onclick: () => answer(false)}),
        h('button', {type: 'button', class: 'danger', 'data-confirm': '', onclick: () => answer(true)}, yes)));
    dialog.addEventListener('cancel', () => answer(false)); // Escape
    document.body.append(dialog);
    dialog.showModal();
  });
}

let closeOpen = () => {}; // the menu open now, if any: one at a time, and none after the room

// A small menu that closes on Escape, on a click outside it, and after a pick. items:
// [label, run, danger?]; run may return a promise (its failure was already said in words).
function popup(anchor, id, items) {
  closeOpen();
  const menu = h('div', {class: 'card popup', id, role: 'menu'},
    items.map(([label, run, danger]) => h('button', {type: 'button', role: 'menuitem', class: danger ? 'danger' : '',
      onclick: () => { close(); Promise.resolve().then(run).catch(() => {}); }}, label)));
  const outside = (e) => {
    if (e.type === 'keydown' ? e.key === 'Escape' : !menu.contains(e.target) && e.target !== anchor) close();
  };
  function close() {
    closeOpen = () => {};
    menu.remove();
    anchor.setAttribute('aria-expanded', 'false');
    removeEventListener('pointerdown', outside, true);
    removeEventListener('keydown', outside);
  }
  const box = anchor.getBoundingClientRect(); // below the button in the upper half, else above
  menu.style.right = Math.max(8, innerWidth - box.right) + 'px';
  if (box.top < innerHeight / 2) menu.style.top = box.bottom + 6 + 'px';
  else menu.style.bottom = innerHeight - box.top + 6 + 'px';
  document.body.append(menu);
  anchor.setAttribute('aria-expanded', 'true');
  addEventListener('pointerdown', outside, true);
  addEventListener('keydown', outside);
  menu.querySelector('button')?.focus();
  closeOpen = close;
  return menu;
}

// Two soft notes: someone is waiting to be let in (the page may be in another tab).
function chime() {
  try {
    const ctx = new AudioContext();
    for (const [i, hz] of [[0, 660], [1, 880]]) {
      const tone = ctx.createOscillator();
      const gain = ctx.createGain();
      tone.frequency.value = hz;
      gain.gain.setValueAtTime(0.08, ctx.currentTime + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + i * 0.18 + 0.3);
      tone.connect(gain).connect(ctx.destination);
      tone.start(ctx.currentTime + i * 0.18);
      tone.stop(ctx.currentTime + i * 0.18 + 0.3);
    }
    setTimeout(() => ctx.close(), 1e3);
  } catch { /* no sound: the badge and the toast still say it */ }
}

export class Moderation {
  // room: the Room (api, mid, me, people, meeting state); meeting: the meeting object
  constructor(room) {
    this.room = room;
    this.locked = !!room.join.meeting.locked;
    this.lobby = !!room.join.meeting.lobby;
    this.queue = new Map(); // pid → a participant waiting in the lobby, oldest first
    this.moreItems = () => [];
    this.waitingList = h('ul', {class: 'roster', id: 'lobby-list'});
    this.waitingCount = h('span', {class: 'count', hidden: true});
    this.waiting = h('section', {class: 'lobby-queue', id: 'lobby-queue', hidden: true},
      h('h3', {i18n: 'waiting_to_join'}), this.waitingList,
      h('div', {class: 'row'}, h('button', {type: 'button', id: 'admit-all', i18n: 'admit_all',
        onclick: () => this.admitAll('admit-all')}), h('button', {type: 'button', id: 'deny-all', i18n: 'deny_all',
        onclick: () => this.admitAll('deny-all')})));
    this.chip = h('span', {class: 'tag role-chip', id: 'my-role', hidden: true});
    this.button = h('button', {type: 'button', class: 'round', id: 'host-controls', i18nLabel: 'host_controls',
      'aria-haspopup': 'menu', 'aria-expanded': 'false', hidden: true, onclick: () => this.meetingMenu()},
    icon('shield'), this.waitingCount);
  }

  get role() { return this.room.people.get(this.room.me)?.role; }

  get moderator() { return MODERATORS.includes(this.role); }

  // Moderation calls: a refusal is said in words (a co-host trying to remove a host, say).
  call(method, path, body) {
    const {api, mid} = this.room;
    return api.call(method, api.path(mid) + path, body).catch((e) => { toast(errorText(e), 'error'); throw e; });
  }

  // The role tag in someone's people-list row, and the person menu for moderators.
  decorate(row, p) {
    if (MODERATORS.includes(p.role)) row.name.append(h('span', {class: 'tag role', i18n: p.role}));
    if (!this.moderator || p.id === this.room.me || p.role === 'bot') return;
    const more = h('button', {type: 'button', class: 'more', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
      'aria-label': t('actions_for', {name: p.name}), title: t('actions_for', {name: p.name}),
      onclick: () => this.personMenu(more, p)}, icon('more'));
    row.icons.append(more);
  }

  personMenu(anchor, p) {
    const pid = encodeURIComponent(p.id);
    const host = this.role === 'host';
    const items = [
      p.audio ? [t('mute_them'), () => this.call('POST', `/participants/${pid}/mute`)]
        : [t('ask_unmute'), () => this.call('POST', `/participants/${pid}/ask-unmute`)],
      p.video && [t('camera_off_them'), () => this.call('PATCH', `/participants/${pid}`, {video: false})],
      p.hand && [t('lower_hand'), () => this.call('PATCH', `/participants/${pid}`, {hand: false})],
      host && p.role === 'guest' && [t('make_cohost'), () => this.call('PATCH', `/participants/${pid}`, {role: 'cohost'})],
      host && p.role === 'cohost' && [t('unmake_cohost'), () => this.call('PATCH', `/participants/${pid}`, {role: 'guest'})],
      host && [t('make_host'), async () => {
        if (await confirmDialog(t('make_host_confirm', {name: p.name}), t('make_host'))) {
          await this.call('PATCH', `/participants/${pid}`, {role: 'host'});
        }
      }],
      (host || p.role === 'guest') && [t('remove'), async () => {
        if (await confirmDialog(t('remove_confirm', {name: p.name}), t('remove'))) {
          await this.call('DELETE', `/participants/${pid}`);
        }
      }, true],
    ].filter(Boolean);
    popup(anchor, 'person-menu', items);
  }

  meetingMenu() {
    popup(this.button, 'meeting-menu', [
      [t('mute_all'), async () => toast(t('muted_all', {n: (await this.call('POST', '/mute-all')).muted}))],
      [t(this.lobby ? 'lobby_off' : 'lobby_on'), async () => {
        this.lobby = !!(await this.call('PATCH', '', {lobby: !this.lobby})).meeting.lobby;
      }],
      [t(this.locked ? 'unlock' : 'lock'), async () => {
        this.setLocked((await this.call('PATCH', '', {locked: !this.locked})).meeting.locked);
      }],
      ...this.moreItems(), // other tools' entries (recording)
      [t('end_all'), async () => {
        if (await confirmDialog(t('end_confirm'), t('end_all'))) await this.call('DELETE', '');
      }, true],
    ]);
  }

  setLocked(locked) { // moderators are told; the others see it only if they try to join again
    if (locked === this.locked) return;
    this.locked = locked;
    if (this.moderator) toast(t(locked ? 'now_locked' : 'now_unlocked'));
  }

  // My own role, after a change: the chip, the controls, every row's menu, the lobby queue.
  show() {
    const role = this.role;
    this.chip.hidden = !MODERATORS.includes(role);
    if (!this.chip.hidden) this.chip.textContent = t('you_are_' + role);
    this.button.hidden = !this.moderator;
    this.queue.clear();
    if (this.moderator) {
      this.call('GET', '/lobby').then(({waiting}) => waiting.forEach((p) => this.queue.set(p.id, p)), () => {})
        .then(() => this.drawQueue());
    } else this.drawQueue();
  }

  // --- the lobby: who waits, with Admit and Deny, a count on the host button, a chime
  drawQueue() {
    const n = this.queue.size;
    this.waiting.hidden = !n;
    this.waitingCount.hidden = !n;
    this.waitingCount.textContent = n;
    this.waitingList.replaceChildren(...[...this.queue.values()].map((p) => h('li', {'data-pid': p.id},
      h('span', {class: 'person'}, p.name),
      h('button', {type: 'button', class: 'admit', onclick: () => this.decide(p, 'admit')}, t('admit')),
      h('button', {type: 'button', class: 'deny', onclick: () => this.decide(p, 'deny')}, t('deny')))));
  }

  async decide(p, what) { // the server admits once, and never into a full meeting
    await this.call('POST', `/lobby/${encodeURIComponent(p.id)}/${what}`).catch(() => {});
  }

  async admitAll(what) {
    const res = await this.call('POST', '/lobby/' + what).catch(() => null);
    if (res?.full) toast(t('lobby_full'), 'error');
  }

  lobbyEvent(ev) {
    const p = ev.participant;
    if (ev.event === 'lobby-joined') {
      this.queue.set(p.id, p);
      chime();
      const admit = h('button', {type: 'button', i18n: 'admit', onclick: () => { note.remove(); this.decide(p, 'admit'); }});
      const note = toast(h('span', {}, t('is_waiting', {name: p.name}), ' ', admit), 'info', 15e3);
    } else this.queue.delete(p.id);
    this.drawQueue();
  }

  close() { closeOpen(); }

  // What a host asks of this page (the server only tells the one asked).
  event(ev) {
    const room = this.room;
    if (ev.event === 'unmute-requested') {
      if (room.audio) return;
      const yes = h('button', {type: 'button', id: 'unmute-yes', i18n: 'unmute', onclick: () => { note.remove(); room.setAudio(true); }});
      const note = toast(h('span', {}, t('asked_unmute'), ' ', yes), 'info', 20e3);
    } else if (ev.event === 'camera-off-requested') {
      if (room.video) room.setVideo(false);
      toast(t('camera_off_by_host'));
    } else if (ev.event === 'host-changed') {
      const name = ev.host === room.me ? t('chat_you') : room.people.get(ev.host)?.name;
      if (name) toast(t(ev.host === room.me ? 'you_are_host_now' : 'host_now', {name}));
    } else if (ev.event === 'meeting-updated' && ev.meeting) {
      this.setLocked(!!ev.meeting.locked);
      this.lobby = !!ev.meeting.lobby;
    } else if (/^lobby-(joined|left)$/.test(ev.event) && this.moderator) this.lobbyEvent(ev);
  }
}
