// Polls: a side panel where hosts and co-hosts ask a question with 2–10 answers (one or
// several choices, anonymous or named, results live or shown at the close), everyone votes
// once (the server counts a vote once, however often it is sent), hosts close a poll and
// download every poll's results as CSV or JSON.
import {h, icon} from './dom.js';
import {t, tr, errorText} from '../i18n.js';
import {toast} from './toasts.js';

const MAX_OPTIONS = 10;

export class Polls {
  // room: the Room (api, mid, me); moderator() → whether I may create, close and download;
  // onShow(open) when the panel opens or closes
  constructor(room, moderator, onShow) {
    Object.assign(this, {room, moderator, onShow, polls: new Map()});
    this.url = room.api.path(room.mid) + '/polls';
    this.list = h('div', {class: 'poll-list', id: 'poll-list'});
    this.form = this.newPollForm();
    this.reports = h('p', {class: 'row poll-report', hidden: true},
      h('button', {type: 'button', id: 'poll-csv', onclick: () => this.download('csv')}, t('download_csv')),
      h('button', {type: 'button', id: 'poll-json', onclick: () => this.download('json')}, t('download_json')));
    this.el = h('aside', {class: 'panel polls', id: 'polls-panel', hidden: true, 'aria-labelledby': 'polls-title'},
      h('header', {}, h('h2', {id: 'polls-title', i18n: 'polls'}),
        h('button', {type: 'button', class: 'x', i18nLabel: 'close', onclick: () => this.show(false)}, '×')),
      this.form, this.list, this.reports);
    this.badge = h('span', {class: 'count', hidden: true});
    this.button = h('button', {type: 'button', class: 'round', id: 'toggle-polls', i18nLabel: 'polls',
      'aria-controls': 'polls-panel', 'aria-expanded': 'false', onclick: () => this.show(this.el.hidden)},
    icon('poll'), this.badge);
    this.roleChanged();
  }

  get open() { return !this.el.hidden; }

  show(open) {
    if (open === this.open) return;
    this.el.hidden = !open;
    this.button.setAttribute('aria-expanded', open);
    if (open) this.badge.hidden = true;
    this.onShow(open);
  }

  roleChanged() {
    this.form.hidden = !this.moderator();
    this.reports.hidden = !this.moderator() || !this.polls.size;
    this.polls.forEach((p) => this.draw(p));
  }

  async load() {
    const {polls} = await this.room.api.call('GET', this.url).catch(() => ({polls: []}));
    polls.forEach((p) => this.upsert(p, true));
  }

  // The form for a new poll (moderators only).
  newPollForm() {
    const question = h('input', {id: 'poll-question', required: true, maxlength: 300, i18nHint: 'poll_question'});
    const options = h('div', {class: 'poll-options'});
    const addOption = () => {
      if (options.children.length >= MAX_OPTIONS) return;
      const n = options.children.length + 1;
      options.append(h('input', {class: 'poll-option', required: n <= 2, maxlength: 100,
        'aria-label': t('poll_option', {n}), placeholder: t('poll_option', {n})}));
      more.hidden = options.children.length >= MAX_OPTIONS;
    };
    const more = h('button', {type: 'button', class: 'link', id: 'poll-add-option', onclick: addOption}, t('add_option'));
    const check = (id, key) => h('label', {class: 'check'}, h('input', {type: 'checkbox', id}), h('span', {}, t(key)));
    const error = h('p', {class: 'error', role: 'alert'});
    const form = h('form', {class: 'poll-form', id: 'poll-form', onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      const texts = [...options.querySelectorAll('input')].map((i) => i.value.trim()).filter(Boolean);
      const body = {question: question.value.trim(), options: texts,
        multiple: form.querySelector('#poll-multiple').checked, anonymous: form.querySelector('#poll-anonymous').checked,
        results: form.querySelector('#poll-hidden').checked ? 'closed' : 'live'};
      try {
        const {poll} = await this.room.api.call('POST', this.url, body);
        this.upsert(poll);
        form.reset();
        options.replaceChildren();
        addOption();
        addOption();
      } catch (err) {
        error.textContent = errorText(err);
      }
    }}, h('h3', {}, t('new_poll')), question, options, more,
    check('poll-multiple', 'poll_multiple'), check('poll-anonymous', 'poll_anonymous'),
    check('poll-hidden', 'poll_hidden'), error,
    h('button', {type: 'submit', class: 'primary', id: 'poll-create'}, t('ask_poll')));
    addOption();
    addOption();
    return form;
  }

  // A poll as the server shaped it for us (counts hidden while they are not ours to see).
  upsert(poll, quiet = false) {
    const isNew = !this.polls.has(poll.id);
    poll.myVote ??= this.polls.get(poll.id)?.myVote ?? null; // a pushed poll does not carry our vote
    this.polls.set(poll.id, poll);
    this.draw(poll);
    this.reports.hidden = !this.moderator();
    if (isNew && !quiet && !this.open && poll.state === 'open') {
      this.badge.hidden = false;
      this.badge.textContent = '!';
      tr(this.badge, 'new_poll', {}, 'aria-label');
      toast(t('poll_asked', {question: poll.question}), 'info', 8000);
    }
  }

  draw(poll) {
    const id = 'poll-' + poll.id;
    const old = this.list.querySelector('#' + CSS.escape(id));
    const voted = !!poll.myVote?.length;
    const tags = [poll.multiple ? t('poll_multiple_tag') : '', poll.anonymous ? t('poll_anonymous_tag') : '',
      poll.state === 'closed' ? t('poll_closed') : ''].filter(Boolean).join(' · ');
    const el = h('section', {class: 'poll', id, 'data-state': poll.state},
      h('h3', {}, poll.question), tags && h('p', {class: 'subtitle'}, tags));
    if (poll.state === 'open' && !voted) el.append(this.ballot(poll));
    else if (poll.counts) el.append(this.results(poll));
    else el.append(h('p', {class: 'subtitle'}, t(voted ? 'poll_voted_hidden' : 'poll_results_later')));
    if (poll.state === 'open' && this.moderator()) {
      el.append(h('button', {type: 'button', class: 'poll-close', onclick: () => this.close(poll)}, t('close_poll')));
    }
    if (old) old.replaceWith(el); else this.list.append(el);
  }

  ballot(poll) {
    const type = poll.multiple ? 'checkbox' : 'radio';
    const name = 'vote-' + poll.id;
    const form = h('form', {class: 'ballot', onsubmit: async (e) => {
      e.preventDefault();
      const chosen = [...form.querySelectorAll('input:checked')].map((i) => i.value);
      if (!chosen.length) return;
      try {
        const res = await this.room.api.call('POST', `${this.url}/${encodeURIComponent(poll.id)}/votes`, {options: chosen});
        this.upsert(res.poll);
      } catch (err) {
        toast(errorText(err), 'error');
      }
    }}, poll.options.map((o) => h('label', {class: 'check'}, h('input', {type, name, value: o.id}), h('span', {}, o.text))),
    h('button', {type: 'submit', class: 'vote'}, t('vote')));
    return form;
  }

  results(poll) {
    const total = poll.counts.reduce((a, b) => a + b, 0) || 1;
    return h('ul', {class: 'poll-results'}, poll.options.map((o, i) => {
      const n = poll.counts[i];
      const bar = h('span', {class: 'bar'});
      bar.style.width = Math.round((100 * n) / total) + '%';
      return h('li', {'data-option': o.id, 'data-votes': n,
        class: poll.myVote?.includes(o.id) ? 'mine' : ''}, h('span', {}, o.text), h('b', {}, String(n)), bar);
    }), h('li', {class: 'subtitle'}, t('poll_voters', {n: poll.voters})));
  }

  async close(poll) {
    try {
      this.upsert((await this.room.api.call('POST', `${this.url}/${encodeURIComponent(poll.id)}/close`)).poll);
    } catch (err) {
      toast(errorText(err), 'error');
    }
  }

  // The report comes with the bearer token, so it is fetched, then saved from a blob.
  async download(format) {
    const {api, mid} = this.room;
    try {
      const res = await api.call('GET', `${this.url}/report?format=${format}`, undefined, {raw: format === 'csv'});
      const blob = new Blob([format === 'json' ? JSON.stringify(res, null, 2) : res.text],
        {type: format === 'json' ? 'application/json' : 'text/csv'});
      const a = h('a', {href: URL.createObjectURL(blob), download: `polls-${mid}.${format}`});
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10e3);
    } catch (err) {
      toast(errorText(err), 'error');
    }
  }

  event(ev) {
    if (ev.event === 'poll') this.upsert(ev.poll);
  }
}
