// English and 简体中文: from navigator.language unless chosen (remembered). Elements rendered
// with tr() are re-translated when the language changes.
import {prefs} from './store.js';

const en = {
  app: 'Parley', tagline: 'Video meetings in your browser. No account, no install.', lang: 'Language',
  create_title: 'Start a meeting', meeting_name: 'Meeting name', passcode_optional: 'Passcode (optional)',
  create: 'Create meeting', join_title: 'Join a meeting', link_or_id: 'Meeting link or ID', join: 'Join',
  bad_link: 'That is not a meeting link or ID.', unsupported: 'This browser cannot hold a meeting here:',
  no_rtc: 'WebRTC is not available: use a current browser.',
  no_gum: 'This browser gives pages no camera or microphone access.',
  insecure: 'This page is not secure: open it over https:// or on localhost.',
  prejoin_title: 'Ready to join?', your_name: 'Your name', passcode: 'Passcode', camera: 'Camera',
  microphone: 'Microphone', mic_level: 'Microphone level', join_now: 'Join now',
  join_without: 'Join without camera and mic', retry: 'Try again', back: 'Back', home: 'Back to start',
  cam_is_off: 'Camera is off',
  media_denied: 'Camera and mic are blocked: allow them in the address bar, or join without them.',
  media_none: 'No camera or microphone found. You can still join and listen.',
  media_busy: 'Camera or microphone is in use by another app.', media_error: 'Camera or microphone failed to start.',
  not_found_title: 'Meeting not found', not_found_text: 'Check the link, or start a new meeting.',
  ended_title: 'This meeting has ended', left_title: 'You left the meeting',
  removed_title: 'The host removed you', gone_title: 'You are no longer in this meeting',
  problem_title: 'Something went wrong', rejoin: 'Join again', mic_on: 'Turn microphone on',
  mic_off: 'Turn microphone off', cam_on: 'Turn camera on', cam_off: 'Turn camera off', leave: 'Leave',
  copy_link: 'Copy invite link', copied: 'Invite link copied', copy_failed: 'Copy this link: {link}',
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
  switch_kept: 'That device would not start, so the previous one is still in use.',
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

const zh = {
  tagline: '在浏览器里开视频会议，无需注册，无需安装。', lang: '语言', create_title: '发起会议',
  meeting_name: '会议名称', passcode_optional: '会议密码（可选）', create: '创建会议', join_title: '加入会议',
  link_or_id: '会议链接或会议号', join: '加入', bad_link: '这不是会议链接或会议号。', unsupported: '此浏览器无法在这里开会：',
  no_rtc: '不支持 WebRTC：请使用新版浏览器。', no_gum: '此浏览器不允许网页使用摄像头和麦克风。',
  insecure: '当前页面不安全：请通过 https:// 或 localhost 打开。', prejoin_title: '准备好加入了吗？',
  your_name: '你的名字', passcode: '会议密码', camera: '摄像头', microphone: '麦克风', mic_level: '麦克风音量',
  join_now: '立即加入', join_without: '不用摄像头和麦克风加入', retry: '重试', back: '返回', home: '返回首页',
  cam_is_off: '摄像头已关闭', media_denied: '摄像头和麦克风被阻止。请在地址栏中允许，或不用它们加入。',
  media_none: '没有找到摄像头或麦克风。你仍可加入并收听。', media_busy: '摄像头或麦克风正被其他应用占用。',
  media_error: '摄像头或麦克风无法启动。', not_found_title: '找不到会议', not_found_text: '请检查链接，或发起新会议。',
  ended_title: '会议已结束', left_title: '你已离开会议', removed_title: '主持人已将你移出',
  gone_title: '你已不在此会议中', problem_title: '出错了', rejoin: '重新加入', mic_on: '打开麦克风',
  mic_off: '关闭麦克风', cam_on: '打开摄像头', cam_off: '关闭摄像头', leave: '离开', copy_link: '复制邀请链接',
  copied: '邀请链接已复制', copy_failed: '请复制此链接：{link}', people: '参会者', close: '关闭',
  you: '你', connected: '已连接', reconnecting: '重新连接中', unreachable: '无法连接', cant_connect: '无法连接到 {name}',
  muted: '麦克风已关闭',
  cam_muted: '摄像头已关闭', ws_reconnecting: '连接已断开，正在重新连接…', joined: '{name} 加入了会议',
  left: '{name} 离开了会议', muted_by_host: '主持人将你静音了。', guest: '访客', loading: '加载中…', sound_blocked: '点击任意位置或按任意键开启声音',
  devices: '摄像头和麦克风', room_denied: '摄像头或麦克风被阻止。请在地址栏中允许。', room_none: '没有找到摄像头或麦克风。',
  lost_video: '你的摄像头已停止，现已关闭。', lost_audio: '你的麦克风已停止，现已关闭。',
  back_video: '你的摄像头曾停止，已重新启动。', back_audio: '你的麦克风曾停止，已重新启动。',
  switch_kept: '该设备无法启动，仍在使用原来的设备。',
  invalid_request: '表单中有无效内容。', token_expired: '会话已结束，请重新加入。', passcode_required: '此会议需要密码。',
  passcode_mismatch: '密码不正确。', rate_limited: '请求过多，请稍后再试。',
  meeting_not_found: '没有与此链接对应的会议。', meeting_full: '会议人数已满。',
  meeting_locked: '主持人已锁定此会议。', too_many_attempts: '密码错误次数过多。请 {n} 分钟后（{time}）再试。',
  internal_error: '服务器出错了，请重试。', try_again: '服务器繁忙，请重试。', network_error: '无法连接服务器，请检查网络。',
  unknown_error: '出错了（{code}）。',
};

const ALIAS = {token_missing: 'token_expired', token_invalid: 'token_expired', participant_gone: 'gone_title',
  meeting_ended: 'ended_title'};

export const LANGS = {en: 'English', zh: '简体中文'};
const dicts = {en, zh};
const bound = new WeakMap();
let lang = dicts[prefs.get('lang')] ? prefs.get('lang') : /^zh/i.test(navigator.language) ? 'zh' : 'en';

export const getLang = () => lang;

export function t(key, vars = {}) {
  return (dicts[lang][key] ?? en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? '');
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

export function setLang(l) {
  lang = l;
  prefs.set('lang', l);
  document.documentElement.lang = htmlLang();
  document.querySelectorAll('[data-i18n]').forEach(apply);
}

document.documentElement.lang = htmlLang();
