// The room's tools that the first painted room does not need, loaded with import() right
// after it: chat, raised hands, reactions, screen share, the main view and active speaker,
// connection quality and ICE recovery when the network comes back, the bandwidth-aware mesh,
// keyboard shortcuts, with their words and styles. room.js tells them what it hears (`tell`):
// person(p) after every change to someone, gone(pid), self(p) when someone else changed us,
// event(ev) for chat and reactions, peer(peer) for a new connection, view(ticket) when someone
// says how they show our camera, screen({pid, stream})
// when someone's screen share starts or stops, resync() after the socket came back, close().
import {PATHS, h} from './dom.js';
import {t, addWords} from '../i18n.js';
import {Chat} from './chat.js';
import {Reactions} from './reactions.js';
import {Shortcuts} from './shortcuts.js';
import {ScreenShare, shareTo} from './screenshare.js';
import {Stage, screenId} from './stage.js';
import {SpeakerWatch} from './speaker.js';
import {Quality} from './quality.js';
import {recovery} from '../recovery.js';
import {useOutput} from './devices.js';
import {Hands, orderRoster} from './hands.js';
import {roomButtons} from './roombuttons.js';
import {Moderation} from './moderation.js';
import {Polls} from './polls.js';
import {Recording} from './recording.js';
import {PlayMedia} from './playmedia.js';
import {bandwidthAwareMesh} from './mesh.js';
import words from '../i18n.room.js';

Object.assign(PATHS, {
  chat: 'M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zM6 9h12v2H6zm8 5H6v-2h8zm4-6H6V6h12z',
  hand: 'M23 5.5V20a4 4 0 0 1-4 4h-7.3a4 4 0 0 1-2.85-1.19L1 14.83l1.3-1.25a1.2 1.2 0 0 1 1.39-.13L8 15.9V4a1.5 1.5 0 0 1 3 0v7h1V1.5a1.5 1.5 0 0 1 3 0V11h1V2.5a1.5 1.5 0 0 1 3 0V11h1V5.5a1.5 1.5 0 0 1 3 0z',
  smile: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zm3.5-9a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm-7 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm3.5 6.5a5.5 5.5 0 0 0 5.1-3.5H6.9a5.5 5.5 0 0 0 5.1 3.5z',
  screen: 'M20 18a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2H0v2h24v-2zm-7-3.5v-2.2c-2.8 0-4.6.8-6 2.7.6-2.7 2.1-5.3 6-5.9V7l4 3.7z',
  layout: 'M3 13h8V3H3zm0 8h8v-6H3zm10 0h8V11h-8zm0-18v6h8V3z',
  pin: 'M16 9V4h1a1 1 0 0 0 0-2H7a1 1 0 0 0 0 2h1v5a3 3 0 0 1-3 3v2h6v7l1 1 1-1v-7h6v-2a3 3 0 0 1-3-3z',
  full: 'M7 14H5v5h5v-2H7zm-2-4h2V7h3V5H5zm12 7h-3v2h5v-5h-2zM14 5v2h3v3h2V5z',
  shield: 'M12 1 3 5v6c0 5.5 3.8 10.7 9 12 5.2-1.3 9-6.5 9-12V5zm-2 16-4-4 1.4-1.4 2.6 2.6 6.6-6.6L18 9z',
  poll: 'M4 20h4V10H4zm6 0h4V4h-4zm6 0h4v-7h-4z',
  more: 'M12 8a2 2 0 1 0 0-4 2 2 0 0 0 0 4zm0 2a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm0 6a2 2 0 1 0 0 4 2 2 0 0 0 0-4z',
  keys: 'M20 5H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2zm-9 3h2v2h-2zm0 3h2v2h-2zM8 8h2v2H8zm0 3h2v2H8zm-1 2H5v-2h2zm0-3H5V8h2zm9 7H8v-2h8zm0-4h-2v-2h2zm0-3h-2V8h2zm3 3h-2v-2h2zm0-3h-2V8h2z',
});
addWords(words);

const stylesheet = () => new Promise((resolve) => {
  const link = h('link', {rel: 'stylesheet', href: new URL('../../css/room.css', import.meta.url).href,
    onload: resolve, onerror: resolve});
  document.head.append(link);
});

export async function roomTools(room) {
  await stylesheet(); // nothing of the tools shows unstyled
  if (room.closed) return null;
  const {view, api, mid, me, people} = room;
  const mod = new Moderation(room); // host controls; `mod.moderator`: I am host or co-host
  const hands = new Hands(room, () => mod.moderator);
  const buttons = roomButtons(room); // the device card and the invite link
  const recording = new Recording(room, () => mod.moderator); // the banner; start/stop for hosts
  const media = new PlayMedia(room, () => mod.moderator); // a streamer's tile; play/stop for hosts
  mod.moreItems = () => [...recording.menuItems(), ...media.menuItems()];

  // After every change to someone: their row's hand, menu and place; the chat's Send to list.
  function person(p, quiet = false) {
    const row = view.roster.rows.get(p.id);
    hands.person(p, row, quiet);
    if (row) mod.decorate(row, p);
    media.person(p);
    orderRoster(view.roster);
    chat.people();
  }

  // --- screen share, main view, active speaker
  const stage = new Stage(view.grid, me, (tile) => useOutput([tile.video])); // the chosen speaker
  const share = new ScreenShare(room, (stream) => showScreen(me, stream));
  const quality = new Quality(room); // bars on each remote tile, "your connection is poor"
  const mesh = bandwidthAwareMesh(room); // each peer's video shaped for how they show it
  const speakers = new SpeakerWatch(room, {
    onSpeaking: (pid, on) => view.grid.tiles.get(pid)?.el.classList.toggle('speaking', on),
    onSpeaker: (pid) => stage.setSpeaker(pid),
    onStats: (reports) => { quality.stats(reports); mesh.stats(reports); }, // the same getStats reports
  });
  const recover = recovery(room); // ICE restarts when the network is back
  function showScreen(pid, stream) { // a tile of its own, the main view for the others
    const id = screenId(pid);
    if (!stream) {
      view.grid.remove(id);
      return stage.removeShare(id);
    }
    if (!view.grid.tiles.has(id)) {
      const name = pid === me ? t('you_present') : t('screen_of', {name: people.get(pid)?.name || ''});
      view.grid.add({id, name, audio: true, video: true});
      const tile = view.grid.tiles.get(id);
      tile.el.classList.add('screen');
      tile.setState('connected');
      tile.video.muted = pid === me; // never hear our own shared tab
    }
    view.grid.tiles.get(id).setStream(stream);
    stage.addShare(id);
  }


  // --- chat, reactions, shortcuts
  // One side panel at a time: people (room view), chat, polls.
  const closePeople = view.aside(() => { chat.show(false); polls.show(false); });
  const chat = new Chat(room, (open) => open && (closePeople(), polls.show(false)));
  const polls = new Polls(room, () => mod.moderator, (open) => open && (closePeople(), chat.show(false)));
  const reactions = new Reactions({me, tile: (pid) => view.grid.tiles.get(pid)?.el,
    name: (pid) => (pid === me ? t('you') : people.get(pid)?.name || ''),
    send: (emoji) => api.call('POST', api.path(mid) + '/reactions', {emoji})});
  const shortcuts = new Shortcuts({
    mic: () => room.setAudio(!room.audio), cam: () => room.setVideo(!room.video),
    hand: () => hands.toggle(), chat: () => chat.show(!chat.open),
    people: () => document.getElementById('toggle-people')?.click(),
  });

  view.tools.insertBefore(hands.button, view.tools.querySelector('#devices'));
  view.tools.insertBefore(reactions.button, view.tools.querySelector('#devices'));
  view.tools.insertBefore(share.button, view.tools.querySelector('#devices'));
  view.side.prepend(mod.button, stage.layoutBtn, shortcuts.button, polls.button, chat.button);
  view.el.querySelector('#meeting-title').after(mod.chip);
  view.el.prepend(recording.banner, quality.notice);
  view.roster.el.before(mod.waiting); // the lobby queue heads the people list
  mod.show();
  view.stage.append(chat.el, polls.el);
  view.el.append(reactions.menu);
  for (const p of people.values()) person(p, true);
  for (const peer of room.peers.values()) if (peer.screen) showScreen(peer.id, peer.screen);
  chat.load();
  polls.load();

  return {
    person,
    gone(pid) {
      hands.gone(pid);
      mesh.gone(pid);
      showScreen(pid, null);
      chat.people();
    },
    peer(peer) {
      mesh.peer(peer);
      if (room.screen) shareTo(peer, room.screen);
    },
    view: (tk) => mesh.view(tk),
    screen: ({pid, stream}) => showScreen(pid, stream),
    self(p) { // someone else changed me: a host lowered my hand, or my role changed
      hands.loweredByHost(p);
      if (p.role && p.role !== people.get(me)?.role) {
        room.set({id: me, role: p.role});
        mod.show();
        polls.roleChanged();
        for (const q of people.values()) { // every row: its menu comes or goes with my powers
          view.roster.set(q);
          person(q, true);
        }
      }
    },
    event(ev) {
      if (ev.event === 'message') chat.add(ev.message);
      else if (ev.event === 'reaction' && ev.reaction.from !== me) reactions.float(ev.reaction.from, ev.reaction.emoji);
      else if (ev.event === 'poll') polls.event(ev);
      else if (ev.event === 'stream-updated') media.event(ev);
      else {
        if (/^(recording|meeting)-updated$/.test(ev.event)) recording.event(ev);
        mod.event(ev);
      }
    },
    resync() { // the socket is back
      recover.recover();
      mesh.resync();
      chat.catchUp();
      media.load();
    },
    devices: () => buttons.devices(),
    copyLink: () => buttons.copyLink(),
    close() {
      buttons.close();
      mod.close();
      shortcuts.close();
      reactions.close();
      share.stop(true);
      speakers.close();
      quality.destroy();
      mesh.close();
      recover.close();
      stage.close();
    },
  };
}
