// Landing: browser check, create a meeting, join by link or meeting ID.
import {h} from './dom.js';
import {t, errorText} from '../i18n.js';

const supportProblems = () => [!window.isSecureContext && 'insecure', !window.RTCPeerConnection && 'no_rtc',
    !navigator.mediaDevices?.getUserMedia && 'no_gum'].filter(Boolean);

// "https://host/#/abc", "#/abc" or "abc" → "abc" (or null).
const parseMeetingId = (text) => (/^(?:.*#\/)?([\w-]{1,32})\/?$/.exec(text.trim()) || [])[1] || null;

// onCreate({name, passcode}) -> Promise (rejects with ApiError); onJoin(mid).
export function landingView({onCreate, onJoin}) {
  const problems = supportProblems();
  const name = h('input', {id: 'meeting-name', required: true, maxlength: 80, autocomplete: 'off'});
  const pass = h('input', {id: 'meeting-pass', type: 'password', minlength: 4, maxlength: 64,
    autocomplete: 'new-password'});
  const createErr = h('p', {class: 'error', role: 'alert'});
  const createBtn = h('button', {type: 'submit', class: 'primary', id: 'create-button', i18n: 'create'});
  const link = h('input', {id: 'join-link', required: true, autocomplete: 'off'});
  const joinErr = h('p', {class: 'error', role: 'alert'});

  const create = h('form', {class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    createErr.textContent = '';
    createBtn.disabled = true;
    try {
      await onCreate({name: name.value.trim(), passcode: pass.value || undefined});
    } catch (err) {
      createErr.textContent = errorText(err);
      createBtn.disabled = false;
    }
  }}, h('h2', {i18n: 'create_title'}), h('label', {for: 'meeting-name', i18n: 'meeting_name'}), name,
  h('label', {for: 'meeting-pass', i18n: 'passcode_optional'}), pass, createErr, createBtn);

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
