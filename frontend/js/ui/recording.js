// Recording: everyone sees a "Recording" banner while a recorder is at work (people must
// know), and hosts and co-hosts start one (audio only, video, or both; whether a leaver's
// place is kept), stop it, and download finished recordings. The recorder itself is a bot on
// the server's side; it is never a tile. Every action is a REST call the server authorises.
import {h} from './dom.js';
import {t, errorText} from '../i18n.js';
import {toast} from './toasts.js';
import {confirmDialog} from './moderation.js';

const ACTIVE = ['starting', 'recording', 'stopping', 'uploading'];
const MODES = ['audio', 'video', 'av'];

export class Recording {
  // room: the Room (api, mid, join.meeting); moderator() → whether I may start, stop, list
  constructor(room, moderator) {
    Object.assign(this, {room, moderator, dialog: null});
    this.url = room.api.path(room.mid) + '/recordings';
    this.banner = h('div', {class: 'rec-banner', id: 'recording-banner', role: 'status', hidden: true},
      h('span', {class: 'rec-dot', 'aria-hidden': 'true'}), h('span', {class: 'rec-text'}));
    this.active = null;
    this.set(room.join.meeting.recording || null);
  }

  // The meeting's active recording ({id, mode, state}) or null: the banner follows it.
  set(rec) {
    this.active = rec && ACTIVE.includes(rec.state) ? rec : null;
    this.banner.hidden = !this.active;
    if (this.active) {
      this.banner.querySelector('.rec-text').textContent =
        t(['stopping', 'uploading'].includes(rec.state) ? 'recording_ending' : 'recording_now');
    }
  }

  event(ev) {
    if (ev.event === 'recording-updated') {
      const was = this.active;
      this.set(ev.recording);
      if (!was && this.active) toast(t('recording_started'));
      if (this.moderator() && ev.recording.state === 'failed') {
        toast(t('recording_failed', {error: ev.recording.error || ''}), 'error', 10e3);
      }
      if (this.dialog?.open) this.list();
    } else if (ev.event === 'meeting-updated' && ev.meeting && 'recording' in ev.meeting) {
      this.set(ev.meeting.recording);
    }
  }

  // What the host's meeting menu offers: start, or stop; and the finished recordings.
  menuItems() {
    if (!this.moderator()) return [];
    return [
      this.active
        ? [t('stop_recording'), async () => {
          if (await confirmDialog(t('stop_recording_confirm'), t('stop_recording'))) {
            await this.call('DELETE', '/' + encodeURIComponent(this.active.id));
          }
        }]
        : [t('start_recording'), () => this.startDialog()],
      [t('recordings'), () => this.listDialog()],
    ];
  }

  call(method, path, body) {
    return this.room.api.call(method, this.url + path, body)
      .catch((e) => { toast(errorText(e), 'error'); throw e; });
  }

  modal(id, ...content) {
    this.dialog?.remove();
    const dialog = this.dialog = h('dialog', {class: 'card rec-dialog', id, 'aria-labelledby': id + '-title'}, ...content);
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    return dialog;
  }

  startDialog() {
    const choice = (mode) => h('label', {class: 'check'},
      h('input', {type: 'radio', name: 'rec-mode', value: mode, checked: mode === 'audio'}),
      h('span', {}, t('rec_mode_' + mode)));
    const error = h('p', {class: 'error', role: 'alert'});
    const dialog = this.modal('start-recording',
      h('h2', {id: 'start-recording-title', i18n: 'start_recording'}),
      h('p', {i18n: 'recording_notice'}),
      h('form', {method: 'dialog', onsubmit: async (e) => {
        e.preventDefault();
        const form = e.target;
        const body = {mode: form.querySelector('input[name=rec-mode]:checked').value,
          reserve: form.querySelector('#rec-reserve').checked};
        try {
          const {recording} = await this.room.api.call('POST', this.url, body);
          this.set(recording);
          dialog.close();
        } catch (err) {
          error.textContent = errorText(err);
        }
      }},
      h('fieldset', {}, h('legend', {i18n: 'rec_mode'}), MODES.map(choice)),
      h('label', {class: 'check'}, h('input', {type: 'checkbox', id: 'rec-reserve', checked: true}),
        h('span', {i18n: 'rec_reserve'})),
      error,
      h('div', {class: 'row'},
        h('button', {type: 'button', i18n: 'cancel', onclick: () => dialog.close()}),
        h('button', {type: 'submit', class: 'primary', id: 'rec-start', i18n: 'start_recording'}))));
    dialog.querySelector('input')?.focus();
  }

  listDialog() {
    const dialog = this.modal('recordings-dialog',
      h('h2', {id: 'recordings-dialog-title', i18n: 'recordings'}),
      h('ul', {class: 'rec-list', id: 'recordings-list'}),
      h('div', {class: 'row'}, h('button', {type: 'button', i18n: 'close', onclick: () => dialog.close()})));
    this.list();
  }

  // Newest first: when, what, its state, and a download link per finished file.
  async list() {
    const ul = this.dialog?.querySelector('#recordings-list');
    if (!ul) return;
    const {recordings} = await this.call('GET', '').catch(() => ({recordings: []}));
    const when = (iso) => new Date(iso).toLocaleString([], {dateStyle: 'short', timeStyle: 'short'});
    ul.replaceChildren(...(recordings.length ? recordings.map((r) => h('li', {'data-rid': r.id},
      h('span', {}, `${when(r.createdAt)} · ${t('rec_mode_' + r.mode)} · `),
      h('span', {class: 'rec-state'}, t('rec_state_' + r.state)),
      r.error && h('span', {class: 'error'}, ' ' + r.error),
      ...(r.files || []).filter((f) => f.downloadUrl).map((f) =>
        h('a', {class: 'rec-file', href: f.downloadUrl, download: f.file, rel: 'noopener'}, f.file))))
      : [h('li', {i18n: 'no_recordings'})]));
  }
}
