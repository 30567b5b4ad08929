// Entry point: hash routing (#/ landing, #/<mid> meeting) and the join / rejoin flow.
import config from '../config.js';
import {createApi} from './api.js';
import {Room} from './room.js';
import {openMedia, stopStream} from './media.js';
import {session} from './store.js';
import {t, errorText, ready} from './i18n.js';
import {langSelect} from './ui/dom.js';
import {prejoinView} from './ui/prejoin.js';
import {messagePage, loadingPage} from './ui/pages.js';
import {toast} from './ui/toasts.js';

const api = createApi(config.apiUrl);
let prejoin = null;
let waiting = null; // the countdown or lobby page, while it is shown
let room = null;
let seq = 0; // the newest route: older async work drops its result
// Only a reload of the room page itself rejoins at once. Arriving any other way (Back, the link
// again, a restored tab, a page back from the back/forward cache) shows the pre-join screen.
let reloaded = performance.getEntriesByType('navigation')[0]?.type === 'reload' && !session.get('restored');
session.del('restored');

function mount(el) {
  document.body.classList.toggle('in-room', el.className === 'room');
  document.getElementById('app').replaceChildren(el);
}

async function route() {
  const mine = ++seq;
  const mid = (/^#\/([\w-]{1,32})\/?$/.exec(location.hash) || [])[1];
  if (room && room.mid === mid) return;
  if (room) { // navigated away (Back, edited link): leave properly, and for good
    const r = room;
    room = null;
    session.del('session');
    r.onExit = () => {};
    await r.leave();
  }
  prejoin?.destroy();
  waiting?.destroy();
  prejoin = waiting = null;
  document.title = t('app');
  if (mine !== seq) return;
  if (!mid) { // the landing page loads on demand: a meeting link never needs it
    const {landingView} = await import('./ui/landing.js');
    if (mine === seq) mount(landingView({onCreate: create, onJoin: (id) => { location.hash = '#/' + id; }}));
    return;
  }
  mount(loadingPage());
  try {
    const {meeting} = await api.getMeeting(mid);
    if (mine !== seq) return;
    document.title = meeting.name + ' · ' + t('app');
    const saved = session.get('session');
    const isReload = reloaded && saved?.mid === mid;
    reloaded = false; // later arrivals in this page are not the reload
    if (isReload) return rejoin(saved, meeting);
    if (saved) forget(saved);
    showPrejoin(meeting);
  } catch (e) {
    if (mine !== seq) return;
    const page = {meeting_not_found: {id: 'not-found', title: 'not_found_title', text: 'not_found_text'},
      meeting_ended: {id: 'ended', title: 'ended_title'}}[e.code];
    mount(messagePage(page || {id: 'problem', title: 'problem_title', error: errorText(e),
      action: {label: 'retry', run: route}}));
  }
}

async function create(body) { // {name, passcode?, lobby?, startsAt?}
  const res = await api.createMeeting(body);
  session.set('host.' + res.meeting.id, res.hostKey); // the creator (this tab) joins as host
  location.hash = '#/' + res.meeting.id;
}

function showPrejoin(meeting, error) {
  prejoin = prejoinView({meeting, onBack: () => { location.hash = '#/'; }, onJoin: async (opts) => {
    const res = await join(meeting.id, opts).catch((e) => {
      if (e.code !== 'meeting_locked' && e.code !== 'meeting_not_started') throw e;
      prejoin.destroy(e.startsAt); // a countdown keeps the camera for the join at the time
      prejoin = null;
      if (e.startsAt) later(meeting, opts, {startsAt: e.startsAt});
      else mount(messagePage({id: 'locked', title: 'locked_title', text: 'meeting_locked', action: {label: 'retry', run: route}}));
    });
    if (!res) return;
    prejoin.destroy(true);
    prejoin = null;
    if (res.waiting) later(meeting, opts, {waiting: res}); else enter(meeting.id, res, opts);
  }});
  mount(prejoin.el);
  prejoin.focus();
  if (error) toast(error, 'error', 8000);
}

// Not in yet: a countdown to the meeting's start, or the lobby until a host lets us in
// (ui/waiting.js, loaded when needed). Then in, or a page that says why not.
async function later(meeting, opts, {startsAt, waiting: lobby}) {
  const mine = seq;
  const {waitFor} = await import('./ui/waiting.js');
  if (mine !== seq) return stopStream(opts.stream);
  waiting = waitFor({api, meeting, startsAt, lobby, wsUrl: config.wsUrl, stream: opts.stream,
    join: () => join(meeting.id, opts),
    onIn: (res) => { waiting = null; enter(meeting.id, res, opts); },
    onOut: (page) => {
      waiting = null;
      if (page) mount(messagePage(page)); else route();
    }});
  mount(waiting.el);
}

async function join(mid, {name, passcode, audio, video}) {
  const hostKey = session.get('host.' + mid);
  const res = await api.join(mid, hostKey ? {name, hostKey} : passcode ? {name, passcode} : {name});
  session.set('session', {mid, pid: res.participant.id, token: res.token, name, passcode, audio, video});
  return res;
}

// This tab's meeting, found by a page that is not its reload: forgotten. If the page that was in
// it is gone (`left`: its pagehide ran), its participant is deleted once more, in case that leave
// request failed; without `left` it may be a duplicated tab whose original is still in the meeting.
function forget(saved) {
  session.del('session');
  if (saved.left) api.leave(saved.mid, saved.token).catch(() => {}); // already gone: harmless
}

// A reloaded page: the old participant leaves (on pagehide, and again now: that request may
// have failed), then the same person joins again.
async function rejoin(saved, meeting) {
  const mine = seq;
  await api.leave(saved.mid, saved.token).catch(() => {});
  const {stream, error} = await openMedia({audio: saved.audio, video: saved.video});
  const has = (kind) => stream.getTracks().some((x) => x.kind === kind);
  const opts = {...saved, stream, audio: saved.audio && has('audio'), video: saved.video && has('video'),
    problem: error && {kinds: ['audio', 'video'].filter((kind) => saved[kind]), code: error}};
  if (mine !== seq) { // gone elsewhere meanwhile: that is leaving
    stopStream(stream);
    return session.del('session');
  }
  try {
    enter(meeting.id, await join(meeting.id, opts), opts);
  } catch (e) {
    stopStream(stream);
    session.del('session');
    showPrejoin(meeting, errorText(e));
  }
}

function enter(mid, res, {stream, audio, video, problem}) {
  api.setToken(res.token);
  room = new Room({api, wsUrl: config.wsUrl, mid, join: res, local: {stream, audio, video, problem}, mount,
    onLocal: (state) => { // while this is the tab's meeting, not once it has left
      const saved = session.get('session');
      if (saved?.pid === res.participant.id) session.set('session', {...saved, ...state});
    },
    onExit: (reason, code) => {
      room = null;
      session.del('session');
      if (reason === 'left') {
        toast(t('left_title'));
        location.hash = '#/';
      } else {
        mount(messagePage(reason === 'gone' ? {id: 'gone', title: 'gone_title', error: errorText(code),
          action: {label: 'rejoin', run: route}} : {id: reason, title: reason + '_title',
          text: reason === 'ended' && 'ended_by_host'}));
      }
    }});
  room.start().catch((e) => console.warn('room', e));
}

await ready; // the page's language, before anything is drawn
document.querySelector('.top').append(langSelect('lang'));
addEventListener('hashchange', route);
addEventListener('pageshow', (e) => { // from the back/forward cache: stale state, and not a reload
  if (!e.persisted) return;
  session.set('restored', true);
  location.reload();
});
route();
