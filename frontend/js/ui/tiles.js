// The video grid: one tile per participant, as large as the screen allows.
import {h, icon} from './dom.js';
import {tr} from '../i18n.js';

export class Grid {
  // on: {soundBlocked(unmute), retry(pid)}
  constructor(on) {
    this.el = h('div', {class: 'grid', id: 'grid'});
    this.tiles = new Map();
    this.on = on;
    this.resize = new ResizeObserver(() => this.layout());
    this.resize.observe(this.el);
  }

  // The column count that gives the biggest 16:9 tiles.
  layout() {
    const n = this.tiles.size || 1;
    const gap = 12;
    const W = this.el.clientWidth - 2 * gap;
    const H = this.el.clientHeight - 2 * gap;
    let best = 0;
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      best = Math.max(best, Math.min((W - gap * (cols - 1)) / cols, ((H - gap * (rows - 1)) / rows) * 16 / 9));
    }
    if (best > 0) this.el.style.setProperty('--tile-w', Math.floor(best) + 'px');
  }

  add(p, self) {
    const tile = new Tile(p, self, this.on);
    this.tiles.set(p.id, tile);
    this.el[self ? 'prepend' : 'append'](tile.el);
    this.layout();
  }

  remove(pid) {
    this.tiles.get(pid)?.el.remove();
    this.tiles.delete(pid);
    this.layout();
  }
}

// data-audio / data-video: on|off (badges); data-hand: true while a hand is up; data-media: waiting (spinner) | flowing;
// data-trouble: the connection cannot be made (a notice with Try again instead of the spinner).
class Tile {
  constructor(p, self, on) {
    Object.assign(this, {self, onSoundBlocked: on.soundBlocked, p: {}, state: self ? 'connected' : 'new'});
    this.video = h('video', {autoplay: true, playsInline: true, muted: self});
    this.name = h('span', {class: 'name'});
    this.initial = h('span');
    this.mic = h('span', {class: 'badge mic-off', role: 'img', i18nLabel: 'muted'}, icon('micOff'));
    this.cam = h('span', {class: 'badge cam-off', role: 'img', i18nLabel: 'cam_muted'}, icon('camOff'));
    this.spinner = h('div', {class: 'spinner'});
    this.troubleText = h('p');
    this.trouble = h('div', {class: 'trouble', role: 'alert', hidden: true}, this.troubleText,
      h('button', {type: 'button', class: 'retry', i18n: 'retry', onclick: () => on.retry(p.id)}));
    this.el = h('div', {class: self ? 'tile self' : 'tile', 'data-pid': p.id}, this.video,
      h('div', {class: 'avatar'}, this.initial), this.spinner, this.trouble,
      h('div', {class: 'nameplate'}, this.mic, this.cam, this.name));
    this.video.onresize = this.video.onplaying = () => this.render();
    this.update(p);
  }

  update(p) {
    Object.assign(this.p, p);
    this.name.textContent = this.p.name;
    tr(this.troubleText, 'cant_connect', {name: this.p.name});
    this.initial.textContent = this.p.name.trim().charAt(0).toUpperCase();
    this.render();
  }

  setStream(stream) {
    this.video.srcObject = stream;
    this.video.play().catch((e) => {
      if (e.name !== 'NotAllowedError' || this.video.muted) return;
      this.video.muted = true; // autoplay with sound refused: play muted until a click or key
      this.video.play().catch(() => {});
      this.onSoundBlocked(() => {
        this.video.muted = false;
        this.video.play().catch(() => {});
      });
    });
  }

  setState(state) { this.state = state; this.render(); }

  setTrouble(on) { this.trouble.hidden = !on; this.render(); }

  render() {
    const {audio, video} = this.p;
    const d = this.el.dataset;
    const showVideo = video && this.video.videoWidth > 0;
    d.audio = audio ? 'on' : 'off';
    d.video = video ? 'on' : 'off';
    d.hand = !!this.p.hand;
    d.media = this.self || (this.state === 'connected' && (showVideo || !video)) ? 'flowing' : 'waiting';
    this.mic.hidden = !!audio;
    this.cam.hidden = !!video;
    d.trouble = !this.trouble.hidden;
    this.spinner.hidden = d.media === 'flowing' || !this.trouble.hidden;
    this.el.classList.toggle('show-video', showVideo);
  }
}
