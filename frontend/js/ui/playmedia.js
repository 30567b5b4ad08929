// Media played into the meeting: a streamer bot joins and sends a file or a live stream as a
// tile of its own, named by its title and tagged "media", that everyone sees and hears. Hosts
// and co-hosts start one from the meeting menu ("Play media": a file from this device, uploaded
// with a progress bar straight to storage, or a link), pause, resume and stop it from its tile,
// and are told when it fails. Every action is a REST call the server authorises.
import {h} from './dom.js';
import {t, errorText} from '../i18n.js';
import {toast} from './toasts.js';
import {confirmDialog} from './moderation.js';

const ACTIVE = ['starting', 'playing', 'paused', 'stopping'];
const TYPES = {mp4: 'video/mp4', m4v: 'video/mp4', webm: 'video/webm', mov: 'video/quicktime',
  mkv: 'video/x-matroska', mp3: 'audio/mpeg', m4a: 'audio/mp4', ogg: 'audio/ogg', oga: 'audio/ogg',
  wav: 'audio/wav'};

// What the server takes for a file: its own type, else one from its extension (some browsers
// leave .mkv or .m4a untyped).
const typeOf = (file) => file.type || TYPES[file.name.split('.').pop().toLowerCase()] || '';

// POST a file with a presigned form straight to storage; progress(fraction) as it goes.
export function sendForm(upload, file, progress) {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    for (const [k, v] of Object.entries(upload.fields)) body.append(k, v);
    body.append('file', file); // last: storage ignores fields after the file
    const x = new XMLHttpRequest();
    x.open('POST', upload.url);
    x.upload.onprogress = (e) => e.lengthComputable && progress(e.loaded / e.total);
    x.onload = () => (x.status < 300 ? resolve()
      : reject({code: /EntityTooLarge/.test(x.responseText) ? 'upload_too_large' : 'upload_failed'}));
    x.onerror = () => reject({code: 'upload_failed'});
    x.send(body);
  });
}

export class PlayMedia {
  // room: the Room (api, mid, join.meeting, view, people); moderator() → whether I may act
  constructor(room, moderator) {
    Object.assign(this, {room, moderator, dialog: null});
    this.url = room.api.path(room.mid) + '/streams';
    this.streams = new Map(); // id → the stream as last heard
    const active = room.join.meeting.stream;
    if (active) this.streams.set(active.id, active), this.load(); // a late joiner: its mode
  }

  // Every stream as it is now (after a reconnect: what was pushed meanwhile is not replayed).
  load() {
    this.room.api.call('GET', this.url).then(({streams}) => streams.forEach((s) => this.set(s)), () => {});
  }

  get active() { return [...this.streams.values()].find((s) => ACTIVE.includes(s.state)); }

  set(s) {
    const was = this.streams.get(s.id);
    this.streams.set(s.id, {...was, ...s});
    if (this.moderator() && s.state === 'failed' && was?.state !== 'failed') {
      toast(t('media_failed', {title: s.title, error: s.error || ''}), 'error', 10e3);
    }
    for (const p of this.room.people.values()) if (p.streamId === s.id) this.person(p);
  }

  event(ev) {
    if (ev.event === 'stream-updated') this.set(ev.stream);
  }

  // A streamer's tile: the "media" tag, and pause/resume/stop for hosts while it plays.
  person(p) {
    const tile = p.bot === 'streamer' && this.room.view.grid.tiles.get(p.id);
    if (!tile) return;
    const el = tile.el;
    let bar = el.querySelector('.media-bar');
    if (!bar) {
      el.classList.add('media');
      el.querySelector('.nameplate').append(h('span', {class: 'media-tag', i18n: 'media_tag'}));
      bar = h('div', {class: 'media-bar'});
      el.append(bar);
    }
    const s = this.streams.get(p.streamId);
    const on = s && this.moderator() && ['starting', 'playing', 'paused'].includes(s.state);
    const paused = s?.state === 'paused' || s?.requested?.action === 'pause';
    const act = (action) => this.call('PATCH', '/' + encodeURIComponent(s.id), {action});
    bar.replaceChildren(...(on ? [
      s.mode === 'file' && h('button', {type: 'button', class: 'media-pause', i18n: paused ? 'media_resume' : 'media_pause',
        onclick: () => act(paused ? 'resume' : 'pause').then((r) => this.set(r.stream), () => {})}),
      h('button', {type: 'button', class: 'danger media-stop', i18n: 'stop_media', onclick: () => this.stop(s)}),
    ] : []));
  }

  async stop(s) {
    if (await confirmDialog(t('stop_media_confirm', {title: s.title}), t('stop_media'))) {
      this.set((await this.call('DELETE', '/' + encodeURIComponent(s.id))).stream);
    }
  }

  // What the host's meeting menu offers: play, or stop what plays.
  menuItems() {
    if (!this.moderator()) return [];
    const s = this.active;
    return [s ? [t('stop_media'), () => this.stop(s).catch(() => {})] : [t('play_media'), () => this.open()]];
  }

  call(method, path, body) {
    return this.room.api.call(method, this.url + path, body)
      .catch((e) => { toast(errorText(e), 'error'); throw e; });
  }

  open() {
    this.dialog?.remove();
    const choice = (value, key, input) => h('label', {class: 'check'},
      h('input', {type: 'radio', name: 'media-kind', value, checked: value === 'file',
        onchange: () => input.focus()}), h('span', {i18n: key}));
    const file = h('input', {type: 'file', id: 'media-file', accept: [...new Set(Object.values(TYPES))].join()});
    const link = h('input', {type: 'url', id: 'media-url', placeholder: 'https://…'});
    const check = (id, key) => h('label', {class: 'check'}, h('input', {type: 'checkbox', id}), h('span', {i18n: key}));
    const title = h('input', {id: 'media-title', maxlength: 40});
    const bar = h('progress', {id: 'media-progress', max: 1, value: 0, hidden: true});
    const error = h('p', {class: 'error', role: 'alert'});
    const dialog = this.dialog = h('dialog', {class: 'card rec-dialog', id: 'play-media', 'aria-labelledby': 'play-media-title'},
      h('h2', {id: 'play-media-title', i18n: 'play_media'}),
      h('p', {i18n: 'media_notice'}),
      h('form', {method: 'dialog', onsubmit: (e) => {
        e.preventDefault();
        this.play(dialog, {file: dialog.querySelector('[name=media-kind]:checked').value === 'file' && file.files[0],
          url: link.value.trim(), live: dialog.querySelector('#media-live').checked,
          loop: dialog.querySelector('#media-loop').checked, title: title.value.trim()}, bar, error);
      }},
      h('fieldset', {}, choice('file', 'media_file', file), file, choice('url', 'media_link', link), link,
        check('media-live', 'media_live')),
      check('media-loop', 'media_loop'),
      h('label', {}, h('span', {i18n: 'media_title'}), title),
      bar, error,
      h('div', {class: 'row'},
        h('button', {type: 'button', i18n: 'cancel', onclick: () => dialog.close()}),
        h('button', {type: 'submit', class: 'primary', id: 'media-play', i18n: 'media_play'}))));
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }

  // Upload the file if one was picked, then start the stream; a failure is said in the dialog.
  async play(dialog, {file, url, live, loop, title}, bar, error) {
    const button = dialog.querySelector('#media-play');
    button.disabled = true;
    error.textContent = '';
    try {
      let source = url;
      if (file) {
        const {upload} = await this.room.api.call('POST', this.url + '/uploads',
          {fileName: file.name.slice(-200), contentType: typeOf(file), size: file.size});
        bar.hidden = false;
        await sendForm(upload, file, (done) => { bar.value = done; });
        source = 'upload:' + upload.id;
      } else if (!url) throw {code: 'media_none'};
      const body = {source, mode: live && !file ? 'live' : 'file', loop: loop && !(live && !file)};
      if (title) body.title = title;
      this.set((await this.room.api.call('POST', this.url, body)).stream);
      dialog.close();
    } catch (err) {
      error.textContent = errorText(err);
      button.disabled = false;
    }
  }
}
