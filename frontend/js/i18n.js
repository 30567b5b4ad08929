// English and 简体中文: from navigator.language unless chosen (remembered). Elements rendered
// with tr() are re-translated when the language changes. English is built in; another
// language's words load with import() when it is chosen (`ready`: the page's first one).
import {prefs} from './store.js';

const en = {
  app: 'Parley', lang: 'Language', no_gum: 'This browser gives pages no camera or microphone access.',
  prejoin_title: 'Ready to join?', your_name: 'Your name', passcode: 'Passcode', camera: 'Camera',
  microphone: 'Microphone', mic_level: 'Microphone level', join_now: 'Join now',
  join_without: 'Join without camera and mic', retry: 'Try again', back: 'Back', home: 'Back to start',
  cam_is_off: 'Camera is off',
  media_denied: 'Camera and mic are blocked: allow them in the address bar, or join without them.',
  media_none: 'No camera or microphone found. You can still join and listen.',
  media_busy: 'Camera or microphone is in use by another app.', media_error: 'Camera or microphone failed to start.',
  not_found_title: 'Meeting not found', not_found_text: 'Check the link, or start a new meeting.',
  ended_title: 'This meeting has ended', ended_by_host: 'The host ended it for everyone.',
  locked_title: 'This meeting is locked', left_title: 'You left the meeting',
  removed_title: 'The host removed you', gone_title: 'You are no longer in this meeting',
  problem_title: 'Something went wrong', rejoin: 'Join again', mic_on: 'Turn microphone on',
  mic_off: 'Turn microphone off', cam_on: 'Turn camera on', cam_off: 'Turn camera off', leave: 'Leave',
  copy_link: 'Copy invite link',
  people: 'People', close: 'Close', you: 'you', connected: 'connected',
  reconnecting: 'reconnecting', unreachable: "can't connect", cant_connect: "Can't connect to {name}",
  muted: 'Microphone off', cam_muted: 'Camera off',
  ws_reconnecting: 'Connection lost. Reconnecting…', joined: '{name} joined', left: '{name} left',
  muted_by_host: 'The host muted your microphone.', guest: 'Guest', loading: 'Loading…',
  sound_blocked: 'Click anywhere or press any key to turn on sound',
  devices: 'Camera and microphone', room_denied: 'Camera or microphone is blocked: allow it in the address bar.',
  room_none: 'No camera or microphone found.', lost_video: 'Your camera stopped, so it is off now.',
  lost_audio: 'Your microphone stopped, so it is off now.',
  back_video: 'Your camera stopped and has been started again.',
  back_audio: 'Your microphone stopped and has been started again.',
  // server error codes (docs/API.md)
  invalid_request: 'Something in the form is not valid.', token_expired: 'Your session ended. Join again.',
  passcode_required: 'This meeting needs a passcode.', passcode_mismatch: 'That passcode is not right.',
  rate_limited: 'Too many requests. Wait a moment and try again.',
  meeting_not_found: 'There is no meeting with this link.', meeting_full: 'This meeting is full.',
  meeting_locked: 'The host has locked this meeting.',
  too_many_attempts: 'Too many wrong passcodes. Try again in {n} min (at {time}).',
  internal_error: 'Something went wrong on our side. Try again.', try_again: 'The server is busy. Try again.',
  network_error: 'Cannot reach the server. Check your connection.', unknown_error: 'Something went wrong ({code}).',
};

const ALIAS = {token_missing: 'token_expired', token_invalid: 'token_expired', participant_gone: 'gone_title',
  meeting_ended: 'ended_title'};

export const LANGS = {en: 'English', zh: '简体中文'};
const LOAD = {zh: () => import('./i18n.zh.js')};
const dicts = {en};
const more = {}; // language → words of modules loaded later (addWords)
const bound = new WeakMap();
let lang = LANGS[prefs.get('lang')] ? prefs.get('lang') : /^zh/i.test(navigator.language) ? 'zh' : 'en';

async function load(l) { // a language that will not load leaves the page in English
  if (!dicts[l]) dicts[l] = await LOAD[l]().then((m) => m.default, () => en);
}

export const ready = load(lang);

export const getLang = () => lang;

export function t(key, vars = {}) {
  return (dicts[lang]?.[key] ?? more[lang]?.[key] ?? en[key] ?? more.en?.[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? '');
}

// Words a module loaded on demand brings along: {en: {...}, zh: {...}}.
export function addWords(words) {
  for (const [l, w] of Object.entries(words)) more[l] = {...more[l], ...w};
}

// Human text for an error code (string, or ApiError with retryAfter for too_many_attempts).
export function errorText(err) {
  const code = ALIAS[err.code || err] || err.code || err;
  if (code === 'too_many_attempts') {
    const s = err.retryAfter || 600;
    const time = new Date(Date.now() + s * 1e3).toLocaleTimeString(htmlLang(), {timeStyle: 'short'});
    return t(code, {n: Math.ceil(s / 60), time});
  }
  return code in en ? t(code) : t('unknown_error', {code});
}

// Set an element's text (attr omitted) or an attribute from a key, and keep it translated.
export function tr(el, key, vars, attr = '') {
  const entry = bound.get(el) || {};
  entry[attr] = [key, vars];
  bound.set(el, entry);
  el.setAttribute('data-i18n', '');
  apply(el);
  return el;
}

function apply(el) {
  for (const [attr, [key, vars]] of Object.entries(bound.get(el) || {})) {
    if (attr) el.setAttribute(attr, t(key, vars)); else el.textContent = t(key, vars);
  }
}

const htmlLang = () => (lang === 'zh' ? 'zh-CN' : 'en');

export async function setLang(l) {
  await load(l);
  lang = l;
  prefs.set('lang', l);
  document.documentElement.lang = htmlLang();
  document.querySelectorAll('[data-i18n]').forEach(apply);
}

document.documentElement.lang = htmlLang();
