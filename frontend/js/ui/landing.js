// Landing: browser check, create a meeting, join by link or meeting ID.
import {h} from './dom.js';
import {t, errorText, addWords} from '../i18n.js';

addWords({ // the landing page's own words: a meeting link never loads them
  en: {
    tagline: 'Video meetings in your browser. No account, no install.',
    create_title: 'Start a meeting', meeting_name: 'Meeting name',
    passcode_optional: 'Passcode (optional)', create: 'Create meeting',
    join_title: 'Join a meeting', link_or_id: 'Meeting link or ID', join: 'Join',
    bad_link: 'That is not a meeting link or ID.',
    unsupported: 'This browser cannot hold a meeting here:',
    no_rtc: 'WebRTC is not available: use a current browser.',
    insecure: 'This page is not secure: open it over https:// or on localhost.',
    lobby_option: 'Waiting room: a host lets each guest in', starts_optional: 'Starts at (optional)',
  },
  zh: {
    tagline: '在浏览器里开视频会议，无需注册，无需安装。', create_title: '发起会议', meeting_name: '会议名称',
    passcode_optional: '会议密码（可选）', create: '创建会议', join_title: '加入会议', link_or_id: '会议链接或会议号',
    join: '加入', bad_link: '这不是会议链接或会议号。', unsupported: '此浏览器无法在这里开会：',
    no_rtc: '不支持 WebRTC：请使用新版浏览器。', insecure: '当前页面不安全：请通过 https:// 或 localhost 打开。',
    lobby_option: '等候室：由主持人逐一让访客进入', starts_optional: '开始时间（可选）',
  },
});

const supportProblems = () => [!window.isSecureContext && 'insecure', !window.RTCPeerConnection && 'no_rtc',
    !navigator.mediaDevices?.getUserMedia && 'no_gum'].filter(Boolean);

// "https://host/#/abc", "#/abc" or "abc" → "abc" (or null).
const parseMeetingId = (text) => (/^(?:.*#\/)?([\w-]{1,32})\/?$/.exec(text.trim()) || [])[1] || null;

// onCreate({name, passcode?, lobby?, startsAt?}) -> Promise (rejects with ApiError); onJoin(mid).
export function landingView({onCreate, onJoin}) {
  const problems = supportProblems();
  const name = h('input', {id: 'meeting-name', required: true, maxlength: 80, autocomplete: 'off'});
  const pass = h('input', {id: 'meeting-pass', type: 'password', minlength: 4, maxlength: 64,
    autocomplete: 'new-password'});
  const lobby = h('input', {id: 'meeting-lobby', type: 'checkbox'});
  const starts = h('input', {id: 'meeting-starts', type: 'datetime-local'}); // local time, sent as UTC
  const createErr = h('p', {class: 'error', role: 'alert'});
  const createBtn = h('button', {type: 'submit', class: 'primary', id: 'create-button', i18n: 'create'});
  const link = h('input', {id: 'join-link', required: true, autocomplete: 'off'});
  const joinErr = h('p', {class: 'error', role: 'alert'});

  const create = h('form', {class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    createErr.textContent = '';
    createBtn.disabled = true;
    try {
      await onCreate({name: name.value.trim(), passcode: pass.value || undefined, lobby: lobby.checked || undefined,
        startsAt: starts.value ? new Date(starts.value).toISOString() : undefined});
    } catch (err) {
      createErr.textContent = errorText(err);
      createBtn.disabled = false;
    }
  }}, h('h2', {i18n: 'create_title'}), h('label', {for: 'meeting-name', i18n: 'meeting_name'}), name,
  h('label', {for: 'meeting-pass', i18n: 'passcode_optional'}), pass,
  h('label', {for: 'meeting-starts', i18n: 'starts_optional'}), starts,
  h('label', {class: 'check'}, lobby, h('span', {i18n: 'lobby_option'})), createErr, createBtn);

  const join = h('form', {class: 'card', onsubmit: (e) => {
    e.preventDefault();
    const mid = parseMeetingId(link.value);
    if (mid) onJoin(mid); else joinErr.textContent = t('bad_link');
  }}, h('h2', {i18n: 'join_title'}), h('label', {for: 'join-link', i18n: 'link_or_id'}), link, joinErr,
  h('button', {type: 'submit', id: 'join-link-button', i18n: 'join'}));

  return h('main', {class: 'landing'},
    h('section', {class: 'hero'}, h('h1', {i18n: 'app'}), h('p', {i18n: 'tagline'})),
    problems.length > 0 && h('div', {class: 'card warn', role: 'alert', id: 'unsupported'},
      h('strong', {i18n: 'unsupported'}), h('ul', {}, problems.map((p) => h('li', {i18n: p})))),
    h('div', {class: 'cards'}, create, join));
}
