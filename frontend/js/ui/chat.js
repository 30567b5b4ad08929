// The chat panel: the meeting's messages with sender and time, the history a late joiner or
// a reload reads page by page, and direct messages to one person (the server shows those to
// sender and recipient only). Message text only ever becomes text nodes; an http(s) link in
// it becomes a link, and nothing else becomes markup.
import {h, icon} from './dom.js';
import {t, tr, errorText} from '../i18n.js';
import {toast} from './toasts.js';

export const MAX_LENGTH = 2000; // the server's limit (DESIGN.md)
const WARN_FROM = MAX_LENGTH - 200; // the count of characters left shows from here
const LINK = /\bhttps?:\/\/[^\s<>"']+/gi;

// Text with its http(s) links as <a> elements; a link's trailing punctuation stays text.
export function linkify(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    const url = match[0].replace(/[.,;:!?)\]}]+$/, '');
    let safe = false;
    try { safe = ['http:', 'https:'].includes(new URL(url).protocol); } catch { /* not a URL */ }
    parts.push(text.slice(last, match.index),
      safe ? h('a', {href: url, target: '_blank', rel: 'noopener noreferrer'}, url) : url);
    last = match.index + url.length;
  }
  parts.push(text.slice(last));
  return parts;
}

const time = (iso) => new Date(iso).toLocaleTimeString(document.documentElement.lang, {timeStyle: 'short'});

export class Chat {
  // room: the Room (api, mid, me, people); onShow(open) when the panel opens or closes.
  constructor(room, onShow) {
    Object.assign(this, {room, onShow, unread: 0, shown: new Map()});
    const {api, mid} = room;
    this.url = api.path(mid) + '/messages';
    this.log = h('ol', {class: 'chat-log', id: 'chat-log', role: 'log', 'aria-live': 'polite', tabindex: 0});
    tr(this.log, 'chat_panel', {}, 'aria-label');
    this.earlier = h('button', {type: 'button', class: 'link', id: 'chat-earlier', hidden: true,
      i18n: 'load_earlier', onclick: () => this.loadEarlier()});
    this.to = h('select', {id: 'chat-to', i18nLabel: 'send_to'});
    this.input = h('textarea', {id: 'chat-input', rows: 2, i18nHint: 'chat_hint',
      i18nLabel: 'chat_hint', onkeydown: (e) => this.key(e), oninput: () => this.count()});
    this.left = h('span', {class: 'chars', id: 'chat-chars', 'aria-live': 'polite'});
    this.error = h('p', {class: 'error', id: 'chat-error', role: 'alert'});
    this.sendBtn = h('button', {type: 'submit', class: 'primary', id: 'chat-send', i18n: 'send'});
    this.el = h('aside', {class: 'panel chat', id: 'chat-panel', hidden: true, 'aria-labelledby': 'chat-title'},
      h('header', {}, h('h2', {id: 'chat-title', i18n: 'chat'}),
        h('button', {type: 'button', class: 'x', i18nLabel: 'close', onclick: () => this.show(false)}, '×')),
      h('p', {class: 'subtitle', i18n: 'chat_note'}), this.earlier, this.log,
      h('form', {class: 'chat-form', onsubmit: (e) => { e.preventDefault(); this.send(); }},
        h('label', {for: 'chat-to', i18n: 'send_to'}), this.to, this.input,
        h('div', {class: 'chat-send'}, this.left, this.sendBtn), this.error));
    this.badge = h('span', {class: 'count', hidden: true});
    this.button = h('button', {type: 'button', class: 'round', id: 'toggle-chat', i18nLabel: 'chat',
      'aria-controls': 'chat-panel', 'aria-expanded': 'false', onclick: () => this.show(this.el.hidden)},
    icon('chat'), this.badge);
    this.people();
  }

  get open() { return !this.el.hidden; }

  show(open) {
    if (open === this.open) return;
    this.el.hidden = !open;
    this.button.setAttribute('aria-expanded', open);
    if (open) {
      this.unread = 0;
      this.badge.hidden = true;
      this.log.lastElementChild?.scrollIntoView({block: 'end'});
      this.input.focus();
    }
    this.onShow(open);
  }

  // The "Send to" list: everyone, or one person who is here now.
  people() {
    const keep = this.to.value;
    const others = [...this.room.people.values()].filter((p) => p.id !== this.room.me && p.role !== 'bot')
      .sort((a, b) => a.name.localeCompare(b.name));
    this.to.replaceChildren(h('option', {value: '', i18n: 'everyone'}),
      ...others.map((p) => h('option', {value: p.id}, p.name)));
    this.to.value = others.some((p) => p.id === keep) ? keep : '';
  }

  // The newest page of history; older pages on request.
  async load() {
    try {
      const {messages, more} = await this.room.api.call('GET', this.url);
      messages.forEach((m) => this.add(m, true));
      this.earlier.hidden = !more;
    } catch {
      this.error.textContent = t('chat_history_failed');
    }
  }

  async loadEarlier() {
    const first = this.log.firstElementChild?.dataset.id;
    if (!first) return;
    this.earlier.disabled = true;
    try {
      const {messages, more} = await this.room.api.call('GET', this.url + '?before=' + encodeURIComponent(first));
      messages.forEach((m) => this.add(m, true));
      this.earlier.hidden = !more;
    } catch {
      toast(t('chat_history_failed'), 'error');
    }
    this.earlier.disabled = false;
  }

  // After the socket came back: what was said while it was away.
  async catchUp() {
    let last = this.log.lastElementChild?.dataset.id;
    for (let page = 0; page < 10; page++) {
      const query = last ? '?after=' + encodeURIComponent(last) : '';
      const {messages} = await this.room.api.call('GET', this.url + query).catch(() => ({messages: []}));
      messages.forEach((m) => this.add(m));
      if (messages.length < 200) return;
      last = messages[messages.length - 1].id;
    }
  }

  // One message, in id order (ids sort by send time), once. `old`: from history, not news.
  add(m, old = false) {
    if (this.shown.has(m.id)) return;
    const mine = m.from === this.room.me;
    const name = mine ? t('chat_you') : m.fromName;
    const people = this.room.people;
    const whisper = m.to && h('span', {class: 'private'},
      mine ? t('to_them', {name: people.get(m.to)?.name || m.toName || ''}) : t('to_you'));
    const li = h('li', {class: mine ? 'mine' : '', 'data-id': m.id, 'data-private': m.to ? 'true' : 'false'},
      h('div', {class: 'meta'}, h('b', {}, name), whisper, h('time', {datetime: m.sentAt}, time(m.sentAt))),
      h('p', {}, linkify(m.text)));
    this.shown.set(m.id, li);
    const next = [...this.log.children].find((x) => x.dataset.id > m.id);
    const atEnd = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.log.insertBefore(li, next || null);
    if (!next && (atEnd || mine)) li.scrollIntoView({block: 'end'});
    if (old || mine || this.open) return;
    this.unread++;
    this.badge.hidden = false;
    this.badge.textContent = this.unread;
    tr(this.badge, 'unread', {n: this.unread}, 'aria-label');
    const text = m.text.length > 80 ? m.text.slice(0, 79) + '…' : m.text;
    toast(t(m.to ? 'new_private' : 'new_message', {name: m.fromName, text}), 'info chat-toast', 5000);
  }

  key(e) { // Enter sends, Shift+Enter starts a new line (as does Enter while composing CJK text)
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.send();
    }
  }

  count() {
    const n = this.input.value.length;
    this.left.textContent = n > MAX_LENGTH ? t('chat_too_long', {max: MAX_LENGTH, n})
      : n >= WARN_FROM ? t('chat_chars_left', {n: MAX_LENGTH - n}) : '';
    this.left.classList.toggle('warn-text', n > MAX_LENGTH);
  }

  // The text stays in the box until the server has it, so a failed send loses nothing.
  async send() {
    const text = this.input.value.trim();
    if (!text || this.sending) return;
    if (text.length > MAX_LENGTH) return this.count();
    const to = this.to.value;
    this.sending = true;
    this.error.textContent = '';
    try {
      const {message} = await this.room.api.call('POST', this.url, to ? {text, to} : {text});
      this.input.value = '';
      this.count();
      this.add(message);
    } catch (e) {
      this.error.textContent = e.code === 'rate_limited' ? t('chat_too_fast', {n: e.retryAfter || 1})
        : e.code === 'participant_not_found' ? t('chat_left', {name: this.to.selectedOptions[0]?.text})
          : t('chat_failed', {error: errorText(e)});
      if (e.code === 'participant_not_found') this.people();
    } finally {
      this.sending = false;
    }
  }
}
