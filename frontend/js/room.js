// A meeting in progress: owns the participant map and wires signaling ↔ peers ↔ UI.
import {Signaling} from './signaling.js';
import {Peer} from './peer.js';
import {stopStream, mediaError, watchTrack, watchPermissions} from './media.js';
import {roomView} from './ui/roomview.js';
import {toast} from './ui/toasts.js';
import {t, errorText} from './i18n.js';

export class Room {
  // join: the join response; local: {stream, audio, video, problem?: {kinds, code} that did not
  // start, code an i18n key}; onLocal(state) remembers it for a reload.
  constructor({api, wsUrl, mid, join, local, mount, onExit, onLocal}) {
    Object.assign(this, {api, wsUrl, mid, join, mount, onExit, onLocal, ...local});
    this.me = join.participant.id;
    this.people = new Map();
    this.peers = new Map();
    this.gone = new Set();
    this.watched = new WeakSet();
    this.notes = {}; // kind → the notice saying why it did not start
    this.pagehide = () => {
      onLocal({left: true}); // this page is gone: the next one may delete its participant again
      api.leave(mid, undefined, true).catch(() => {});
    };
  }

  track(kind) { return this.stream.getTracks().find((x) => x.kind === kind); }

  async start() {
    const {api, mid, join} = this;
    // The socket and the offers first: they are what a join waits for, and nothing else below
    // waits for them. The newcomer offers to everyone already here, at once: their answers come
    // over the socket (or, if it is not open yet, with the replay that follows its opening).
    // They wait for our offer.
    this.sig = new Signaling(join.wsUrl || this.wsUrl, join.token, (after) => api.tickets(mid, after), this);
    const opened = this.sig.start();
    this.view = roomView({meeting: join.meeting, me: this.me, on: {
      mic: () => this.setAudio(!this.audio),
      cam: () => this.setVideo(!this.video),
      leave: () => this.leave(),
      copy: () => this.tell('copyLink'), // these two live in ui/roomtools.js
      devices: () => this.tell('devices'),
      retry: (pid) => this.peers.get(pid)?.retry(),
    }});
    this.set({...join.participant, audio: this.audio, video: this.video, connected: true}, true);
    for (const p of join.participants) if (p.id !== this.me) this.set(p);
    this.started = true;
    for (const pid of this.people.keys()) if (pid !== this.me) this.peer(pid, true).offer();

    this.mount(this.view.el);
    this.view.setLocal(this);
    this.showSelf();
    if (!this.audio || !this.video) this.patch({audio: this.audio, video: this.video});
    addEventListener('pagehide', this.pagehide);
    this.expose();
    // Chat, hands, reactions and shortcuts load once the room is painted; they hear what it hears.
    this.tools = import('./ui/roomtools.js').then((m) => m.roomTools(this), (e) => console.warn('tools', e));
    this.watch();
    // blocked, then allowed in the address bar: what the person tried to turn on comes on
    this.unwatch = watchPermissions((kind, state) => state === 'granted' && this.notes[kind] && this.retry([kind]));
    if (this.problem) this.failed(this.problem.kinds, this.problem.code);
    await opened;
  }

  set(p, self) {
    const known = this.people.get(p.id);
    const merged = {...known, ...p};
    this.people.set(p.id, merged);
    if (known) this.view.update(merged); else this.view.add(merged, self);
    this.tell('person', merged);
  }

  tell(name, arg) { this.tools?.then((x) => x?.[name]?.(arg)); }

  // starts: we make the first offer (we are the newcomer); otherwise we wait for theirs.
  peer(pid, starts = false) {
    if (this.peers.has(pid) || this.closed) return this.peers.get(pid);
    if (!this.people.has(pid)) this.set({id: pid, name: t('guest'), audio: true, video: true});
    const peer = new Peer({
      selfId: this.me, remoteId: pid, iceServers: this.join.iceServers, starts,
      // on the open socket (no HTTP request, no CORS preflight in AWS), else by REST; a retry
      // may go either way: the key makes the server store it once
      send: (kind, data, key) => {
        const ticket = {to: pid, kind, data, key};
        return this.sig?.isOpen() ? this.sig.sendTicket(ticket) : this.api.postTicket(this.mid, ticket);
      },
      onTrack: (stream) => this.view.setStream(pid, stream),
      onScreen: (stream) => this.tell('screen', {pid, stream}),
      onState: (state) => this.view.setState(pid, state),
      onSendError: (e) => (e.code === 'participant_not_found' ? this.drop(pid)
        : this.closed || console.warn('ticket to', pid, e.code)),
      onStuck: () => this.sig?.catchUp(),
      onTrouble: (on) => this.view.setTrouble(pid, on),
    });
    this.peers.set(pid, peer);
    peer.setTracks(this.stream);
    this.tell('peer', peer); // our screen share, if on, goes to them too
    return peer;
  }

  drop(pid, reason) {
    const p = this.people.get(pid);
    if (pid === this.me || !p) return;
    this.gone.add(pid);
    this.peers.get(pid)?.close();
    this.peers.delete(pid);
    this.people.delete(pid);
    this.view.remove(pid);
    this.tell('gone', pid);
    if (reason && p.role !== 'bot') toast(t('left', {name: p.name}));
  }

  onTicket(tk) {
    if (this.gone.has(tk.from) || this.closed) return;
    if (tk.kind === 'bye') this.drop(tk.from, 'left');
    else if (tk.kind === 'view') this.tell('view', tk); // how they show our camera: ui/mesh.js
    else this.peer(tk.from).handle(tk);
  }

  onEvent(ev) {
    const {event, participant: p, reason} = ev;
    if (p?.id === this.me) return this.tell('self', p); // a host changed us (a lowered hand)
    if (p && this.gone.has(p.id)) return;
    if (/^participant-(joined|updated)$/.test(event)) { // an update may be of a join we missed
      if (p.state && p.state !== 'active') return this.drop(p.id, p.state);
      if (!this.people.has(p.id) && p.role !== 'bot') toast(t('joined', {name: p.name}));
      this.set(p);
      if (this.started) this.peer(p.id);
    } else if (event === 'participant-left') {
      this.drop(p.id, reason || p.state);
    } else if (event === 'meeting-ended' || event === 'removed') {
      this.exit(event === 'removed' ? 'removed' : 'ended');
    } else if (event === 'mute-requested') {
      this.setAudio(false);
      toast(t('muted_by_host'));
    } else this.tell('event', ev); // chat and reactions
  }

  onFatal(code) { this.exit('gone', code); }

  onStatus(status) { // the banner waits a second, so a quick renewal shows nothing
    clearTimeout(this.bannerTimer);
    if (status === 'open') {
      this.view.setBanner(false);
      if (this.opened) this.resync(); // not the first opening: the join response is fresh
      this.opened = true;
    } else this.bannerTimer = setTimeout(() => this.view.setBanner(true), 1000);
  }

  async resync() { // events pushed while the socket was down are not replayed: re-read who is here
    const {participants: list} = await this.api.participants(this.mid).catch(() => ({}));
    if (!list || this.closed) return;
    const here = new Set(list.map((p) => p.id));
    for (const pid of [...this.people.keys()]) if (!here.has(pid)) this.drop(pid, 'left');
    for (const p of list) if (p.id !== this.me && !this.gone.has(p.id)) this.set(p), this.peer(p.id);
    this.tell('resync');
  }

  patch(state) {
    this.onLocal({audio: this.audio, video: this.video});
    this.set({id: this.me, ...state});
    this.view.setLocal(this);
    this.api.updateMe(this.mid, state).catch((e) => toast(errorText(e), 'error'));
  }

  showSelf() { this.view.setStream(this.me, new MediaStream(this.stream.getTracks())); }

  // Getting a device back, or saying why it will not start: js/roommedia.js, loaded the first
  // time it is needed (a device that stops, one that will not start, a switch).
  recovery() { return (this.fixer ??= import('./roommedia.js')); }

  async swap(kind, id, tries) { return (await this.recovery()).swap(this, kind, id, tries); }

  async failed(kinds, code, before) { (await this.recovery()).failed(this, kinds, code, before); }

  async retry(kinds) { (await this.recovery()).retry(this, kinds); }

  async turnOn(kind) { // → whether `kind` has a track now
    const error = !this.track(kind) && (await this.swap(kind));
    if (error) this.failed([kind], mediaError(error));
    return !error;
  }

  async setAudio(on) {
    if (on && !(await this.turnOn('audio'))) return;
    this.audio = on;
    this.track('audio') && (this.track('audio').enabled = on);
    this.patch({audio: on});
  }

  // Camera off stops the camera (its light goes out); on starts it again.
  async setVideo(on) {
    const cam = this.track('video');
    if (on && !(await this.turnOn('video'))) return;
    if (!on && cam) {
      this.stream.removeTrack(cam);
      cam.stop();
      this.peers.forEach((p) => p.setTracks(this.stream));
      this.showSelf();
    }
    this.video = on;
    this.patch({video: on});
  }

  // Our own tracks are watched: one that ends by itself (unplugged, permission revoked) or that
  // the system keeps muted is opened again (three tries); failing that, that kind is off.
  watch() {
    for (const track of this.stream.getTracks()) {
      if (this.watched.has(track)) continue;
      this.watched.add(track);
      watchTrack(track, () => this.recovery().then((m) => m.lost(this, track)));
    }
  }

  async leave() {
    if (this.closed) return;
    const byes = [...this.peers.values()].map((p) => p.close(true));
    await Promise.race([Promise.allSettled(byes), new Promise((r) => setTimeout(r, 1500))]);
    await this.api.leave(this.mid).catch(() => {});
    this.exit('left');
  }

  exit(reason, code) {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.bannerTimer);
    removeEventListener('pagehide', this.pagehide);
    this.unwatch?.();
    this.sig?.close();
    this.peers.forEach((p) => p.close());
    stopStream(this.stream);
    this.view.destroy();
    this.tell('close');
    delete window.__parley;
    this.onExit(reason, code);
  }

  // Read-only hook for tests and debugging: who I am, inbound stats per peer.
  expose() {
    const stats = async () => Object.fromEntries(await Promise.all([...this.peers.values()].map(
      async (p) => [p.id, await p.stats()])));
    Object.defineProperty(window, '__parley', {configurable: true, value: Object.freeze({me: this.me, stats})});
  }
}
