// Before the room: a countdown to a scheduled start (the page joins by itself at the time),
// and the lobby, where a guest waits until a host lets them in or not. Loaded with import()
// only when a join answers "not started" (409) or "waiting" (202).
import {h} from './dom.js';
import {t, addWords, errorText} from '../i18n.js';
import {stopStream} from '../media.js';
import {session} from '../store.js';

addWords({
  en: {
    starts_title: '{name} has not started yet', starts_at: 'It starts at {time}.',
    starts_in: 'Joining by itself in {left}', joining: 'Joining…',
    waiting_title: 'Waiting to be let in', waiting_text: 'A host of {name} will let you in soon.',
    no_host: 'Nobody who can let you in is in the meeting yet. Keep this page open.',
    leave_lobby: 'Leave', denied_title: 'You were not let in', denied_text: 'A host of the meeting declined.',
  },
  zh: {
    starts_title: '{name} 尚未开始', starts_at: '会议将于 {time} 开始。',
    starts_in: '{left} 后自动加入', joining: '正在加入…',
    waiting_title: '正在等待入会', waiting_text: '{name} 的主持人很快会让你进入。',
    no_host: '会议中还没有可以让你进入的人。请保持此页面打开。',
    leave_lobby: '离开', denied_title: '你未被允许进入', denied_text: '会议主持人拒绝了你的入会请求。',
  },
});

const PING = 240e3; // under API Gateway's 10-minute idle cut

const clock = (ms) => {
  const s = Math.max(0, Math.ceil(ms / 1e3));
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  return (hms[0] ? hms[0] + ':' : '') + hms.slice(1).map((n, i) => (i || hms[0] ? String(n).padStart(2, '0') : n)).join(':');
};

// api, meeting; startsAt (a countdown first) or lobby (the join's 202 answer); wsUrl: the
// default socket URL; stream: the camera kept for the room; join() → the join answer;
// onIn(join answer) once in; onOut(page or null: back to the pre-join). → {el, destroy()}
export function waitFor({api, meeting, startsAt, lobby, wsUrl, stream, join, onIn, onOut}) {
  const title = h('h1');
  const text = h('p');
  const note = h('p', {class: 'warn-text', id: 'lobby-status', hidden: true, i18n: 'no_host'});
  const left = h('p', {class: 'countdown', id: 'countdown', 'aria-live': 'off'});
  const leave = h('button', {type: 'button', id: 'leave-lobby', i18n: 'leave_lobby', onclick: () => out(null)});
  const el = h('main', {class: 'message-page', id: startsAt ? 'not-started' : 'lobby'},
    h('div', {class: 'card'}, title, text, note, left, h('div', {class: 'spinner', role: 'status'}),
      h('div', {class: 'row'}, leave)));
  let timer, ws, ping, done = false, tries = 0;

  function out(page, keep) {
    if (done) return;
    done = true;
    clearTimeout(timer);
    clearInterval(ping);
    ws?.close();
    if (!keep) {
      if (lobby) api.leave(meeting.id, lobby.token).catch(() => {}); // out of the queue
      stopStream(stream);
      session.del('session');
    }
    if (page !== undefined) (keep ? onIn : onOut)(page);
  }

  function countdown() {
    title.id = 'starts-title';
    title.textContent = t('starts_title', {name: meeting.name});
    const at = new Date(startsAt);
    text.textContent = t('starts_at', {time: at.toLocaleString(document.documentElement.lang,
      {dateStyle: 'medium', timeStyle: 'short'})});
    (function tick() {
      const ms = at - Date.now();
      if (ms > 0) {
        left.textContent = t('starts_in', {left: clock(ms)});
        timer = setTimeout(tick, Math.min(1e3, ms));
      } else go();
    })();
  }

  async function go() { // the time has come: join (again a moment later if it is not quite time)
    left.textContent = t('joining');
    let res;
    try {
      res = await join();
    } catch (e) {
      if (done) return;
      if (e.code === 'meeting_not_started' && tries++ < 30) return (timer = setTimeout(go, 2e3));
      return out({id: 'problem', title: 'problem_title', error: errorText(e)});
    }
    if (done) return;
    if (res.waiting) {
      lobby = res;
      waitInLobby();
    } else out(res, true);
  }

  function waitInLobby() {
    el.id = 'lobby';
    left.textContent = '';
    title.textContent = t('waiting_title');
    text.textContent = t('waiting_text', {name: meeting.name});
    connect(0);
  }

  function connect(attempt) { // only events for us: admitted, denied, lobby-status
    if (done) return;
    ws = new WebSocket((lobby.wsUrl || wsUrl) + '?token=' + encodeURIComponent(lobby.token));
    ws.onopen = () => { attempt = 0; };
    ws.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      if (ev.event === 'admitted') out({...ev, token: lobby.token, wsUrl: lobby.wsUrl}, true);
      else if (ev.event === 'denied') out({id: 'denied', title: 'denied_title', text: 'denied_text'});
      else if (ev.event === 'lobby-status') note.hidden = ev.hostPresent;
    };
    ws.onclose = () => { if (!done) timer = setTimeout(() => connect(attempt + 1), Math.min(10e3, 1e3 * 2 ** attempt)); };
  }

  ping = setInterval(() => ws?.readyState === 1 && ws.send('{"action":"ping"}'), PING);
  if (startsAt) countdown(); else waitInLobby();
  return {el, destroy: () => out()};
}
