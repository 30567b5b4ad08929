// One RTCPeerConnection per remote participant, with MDN's "perfect negotiation". No DOM.
import config from '../config.js';

const TICK = 8e3; // the watchdog's period
const GIVE_UP = 15e3; // not connected for this long: onTrouble(true)
const HALF_TRICKLE = 150; // a description waits this long at most for its candidates,
const QUIET = 20; // or until none has come for this long after the first
const WAIT_FOR_OFFER = 2e3; // the side that does not start waits this long for the offer
const BLIP = 2500; // disconnected this long: restart ICE (a blip heals by itself)

export class Peer {
  // send(kind, data, key) -> Promise; onTrack(stream); onScreen(stream or null): their screen
  // share, apart from their camera; onState(connectionState); onSendError(err);
  // onStuck(): something is overdue, so fetch any ticket the socket missed;
  // onTrouble(on): true after 15 s without a connection or at once on failed, false once connected.
  // starts: this side makes the first offer (the newcomer, to everyone already there); the other
  // side waits for it, so a join is one offer and one answer, not two offers colliding.
  constructor({selfId, remoteId, iceServers, starts, send, onTrack, onScreen, onState, onSendError, onStuck, onTrouble}) {
    Object.assign(this, {id: remoteId, polite: selfId > remoteId, starts: !!starts, send, onSendError, onStuck,
      onTrouble, onScreen});
    this.makingOffer = this.ignoreOffer = this.closed = this.trouble = this.wasUp = false;
    this.inbox = this.outbox = Promise.resolve(); // tickets in and out, strictly in order
    this.candidates = [];
    this.restartedAt = -Infinity;
    this.stream = new MediaStream();
    this.transceivers = {}; // kind -> the transceiver that carries our own track of that kind
    this.shares = {}; // kind -> the transceiver of our screen share's track (ui/screenshare.js)
    this.screenId = null; // the id of their screen share's stream, as their last description said
    this.screen = null; // their screen share (video, and audio if the browser shared it)
    const pc = this.pc = new RTCPeerConnection({...config.rtc, iceServers});

    pc.ontrack = ({track, streams}) => {
      if (streams[0] && streams[0].id === this.screenId) return this.theirScreen(track);
      this.stream.getTracks().forEach((t) => t.kind === track.kind && this.stream.removeTrack(t));
      this.stream.addTrack(track);
      onTrack(this.stream);
    };
    pc.onnegotiationneeded = () => this.offer();
    // Half trickle: candidates found before a description goes out travel inside it (see
    // describe()); the later ones are trickled, batched: those found within 20 ms in one ticket.
    pc.onicecandidate = ({candidate}) => {
      this.gathered = true; // a candidate, or the end of them: see apply()
      if (!candidate?.candidate || !this.described) return;
      if (this.candidates.push(candidate.toJSON()) > 1) return;
      setTimeout(() => this.post('candidates', this.candidates.splice(0)), 20);
    };
    pc.onsignalingstatechange = () => {
      clearTimeout(this.answerTimer);
      if (pc.signalingState === 'have-local-offer') this.awaitAnswer(3);
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      onState(state);
      clearTimeout(this.blip);
      if (state === 'connected') {
        this.wasUp = true;
        this.unwatch();
        this.setTrouble(false);
      } else if (state === 'failed' || state === 'disconnected') {
        if (this.wasUp) this.watch(); // it worked and broke: try again for a while
        this.wasUp = false;
        if (state === 'failed') this.setTrouble(true);
        if (state === 'failed' && this.watchdog) this.restart();
        if (state === 'disconnected') this.blip = setTimeout(() => this.restart(), BLIP);
      }
    };
    this.watch();
  }

  // MDN's negotiationneeded handler, one offer at a time (a newcomer also calls it at once,
  // without waiting for the event: the event's later call then finds the offer made). The
  // side that does not start holds its first offer back: the other's offer is on its way, and
  // answering it carries our tracks too (addTrack's transceivers take the offer's m-lines).
  // If none comes, it offers anyway.
  async offer() {
    const pc = this.pc;
    if (this.closed || this.makingOffer || pc.signalingState !== 'stable') return;
    // Our answer may still wait for its candidates (describe): an offer now would replace it
    // before it is sent, and the other side would wait for it for ever. Offer once it is out.
    if (this.answering) return (this.offerNext = true);
    if (!this.starts && !pc.remoteDescription) {
      this.held = true;
      this.holdTimer ??= setTimeout(() => {
        this.starts = true;
        if (!this.held) return;
        this.receiveAll();
        this.offer();
      }, WAIT_FOR_OFFER);
      return;
    }
    try {
      this.makingOffer = true;
      this.gathered = this.described = false;
      this.sdpScreen = this.myScreen && this.screenStream.id; // as the SDP is made, not as it is sent
      await pc.setLocalDescription();
    } catch (e) {
      return console.warn('negotiation', e);
    } finally {
      this.makingOffer = false;
    }
    await this.describe('offer');
  }

  // Send our new description once its first candidates are in, unless it has been replaced
  // meanwhile (our offer rolled back for theirs): one message instead of two or more. Done
  // waiting: gathering complete, or QUIET ms without a new candidate after the first (the host
  // candidates come in one burst within a few ms; TCP ones ~100 ms later, and a relay's later
  // still: those are trickled), or HALF_TRICKLE ms in all.
  async describe(type) {
    const pc = this.pc;
    if (pc.iceGatheringState !== 'complete') {
      await new Promise((resolve) => {
        let quiet;
        const done = () => {
          clearTimeout(timer);
          clearTimeout(quiet);
          pc.removeEventListener('icegatheringstatechange', check);
          pc.removeEventListener('icecandidate', heard);
          resolve();
        };
        const check = () => pc.iceGatheringState === 'complete' && done();
        const heard = () => { clearTimeout(quiet); quiet = setTimeout(done, QUIET); };
        const timer = setTimeout(done, HALF_TRICKLE);
        pc.addEventListener('icegatheringstatechange', check);
        pc.addEventListener('icecandidate', heard);
        if (this.gathered) heard();
      });
    }
    if (this.closed || pc.localDescription?.type !== type || (type === 'offer' && pc.signalingState !== 'have-local-offer')) return;
    this.described = true; // in the same task as reading the SDP: no candidate falls between
    this.post('description', this.description());
  }

  // Our description, saying which of its streams is our screen share (ui/screenshare.js), as
  // it was when the SDP was made: a share that stops while the description waits is not in it.
  description() {
    const data = this.pc.localDescription.toJSON();
    return this.sdpScreen ? {...data, screen: this.sdpScreen} : data;
  }

  // An offer must not wait for its answer for ever (a ticket lost?), connected or not: after a
  // watchdog period, fetch missed tickets and send it again, as it is now, with the candidates
  // gathered since; up to n times. Rolling it back to make a new one would be worse: Chrome then
  // fires negotiationneeded as well, and after a rollback of the offer that brought the data
  // channel it asked to negotiate again after every answer, for ever.
  awaitAnswer(n) {
    this.answerTimer = setTimeout(() => {
      if (this.closed || this.pc.signalingState !== 'have-local-offer' || this.makingOffer) return;
      this.onStuck?.();
      this.post('description', this.description());
      if (n > 1) this.awaitAnswer(n - 1);
    }, TICK);
  }

  // The watchdog, while not connected: every 8 s, fetch missed tickets and restart ICE if the
  // connection is negotiated but not trying; three times, then it stops. It starts with the peer,
  // on Retry, and when a connection that worked fails or drops.
  watch() {
    if (this.closed) return;
    this.ticks = 0;
    this.watchdog ??= setInterval(() => this.tick(), TICK);
    if (!this.trouble) this.troubleTimer ??= setTimeout(() => this.setTrouble(true), GIVE_UP);
  }

  tick() {
    const pc = this.pc;
    if (pc.connectionState === 'connected' || ++this.ticks > 3) return this.unwatch();
    this.onStuck?.();
    if (pc.signalingState === 'stable' && pc.remoteDescription && pc.connectionState !== 'connecting') {
      this.restart();
    }
  }

  unwatch() {
    clearInterval(this.watchdog);
    this.watchdog = null;
  }

  // ICE restart (it makes a new offer), at most once per watchdog period, and by the impolite
  // side only: both restarting at once is glare, and the polite side's rolled-back restart offer
  // left Chrome's video element for that peer without a frame for good (readyState 0 while
  // frames were being decoded). A person's Try again restarts from either side (retry()).
  // `now` (recovery.js: the network is back): at once.
  restart(now) {
    if (this.polite || (!now && performance.now() - this.restartedAt < TICK - 500)) return;
    this.restartedAt = performance.now();
    this.pc.restartIce();
  }

  setTrouble(on) {
    clearTimeout(this.troubleTimer);
    this.troubleTimer = null;
    if (on === this.trouble || this.closed) return;
    this.trouble = on;
    this.onTrouble?.(on);
  }

  // The person asked to try again: fetch missed tickets, restart ICE (a new offer now, or once
  // our unanswered one, sent again, is answered), and the watchdog and the 15 s start over.
  retry() {
    const pc = this.pc;
    if (this.closed) return;
    this.starts = true;
    this.receiveAll();
    this.setTrouble(false);
    this.onStuck?.();
    this.restartedAt = performance.now();
    pc.restartIce();
    if (pc.signalingState === 'have-local-offer' && !this.makingOffer) {
      this.post('description', this.description());
    }
    this.watch();
  }

  // A busy or flaky server gets the same ticket again, a few times, with the same key: the
  // server stores a ticket once per key, however often it was sent.
  post(kind, data) {
    const key = crypto.randomUUID();
    const send = (n) => this.send(kind, data, key).catch(async (e) => {
      if (n > 3 || this.closed || !/rate_lim|network|internal|try_again|^http_5/.test(e.code)) throw e;
      await new Promise((r) => setTimeout(r, (e.retryAfter || 1) * 1e3));
      return send(n + 1);
    });
    if (!this.closed) this.outbox = this.outbox.then(() => send(0)).catch(this.onSendError);
    return this.outbox;
  }

  // replaceTrack on our own transceiver of this kind (no renegotiation; one that only received
  // starts sending, which renegotiates), else addTrack (renegotiates). Ours are remembered: the
  // first transceiver of a kind may be one the other side added.
  setTracks(stream) {
    if (this.closed) return;
    const mine = this.transceivers;
    for (const kind of ['audio', 'video']) {
      const track = stream.getTracks().find((t) => t.kind === kind) || null;
      if (mine[kind]) {
        if (mine[kind].sender.track !== track) mine[kind].sender.replaceTrack(track).catch((e) => console.warn(e));
        if (track && mine[kind].direction === 'recvonly') mine[kind].direction = 'sendrecv';
      } else if (track) {
        const sender = this.pc.addTrack(track, stream);
        mine[kind] = this.pc.getTransceivers().find((x) => x.sender === sender);
      }
    }
    if (this.starts) this.receiveAll();
  }

  theirScreen(track) {
    this.screen ||= new MediaStream();
    this.screen.getTracks().forEach((t) => t.kind === track.kind && this.screen.removeTrack(t));
    this.screen.addTrack(track);
    this.onScreen?.(this.screen);
  }

  // The side that offers first asks to receive a kind it has no track for, so its first offer
  // has audio and video for the other's tracks (one answer carries them), and a pair with no
  // camera or mic at all still has something to connect. No data channel for that: after Chrome
  // rolls back an offer that brought one (glare), it asks to negotiate again after every answer.
  receiveAll() {
    if (this.closed || this.pc.remoteDescription) return;
    for (const kind of ['audio', 'video']) {
      this.transceivers[kind] ||= this.pc.addTransceiver(kind, {direction: 'recvonly'});
    }
  }

  handle(ticket) {
    this.inbox = this.inbox.then(() => this.apply(ticket)).catch((e) => console.warn('ticket', ticket.kind, e));
  }

  async apply({kind, data}) {
    const pc = this.pc;
    if (this.closed) return;
    if (kind === 'description') {
      const collision = data.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      // Chrome breaks a connection for good when an offer is rolled back before it has
      // gathered: wait (up to ~2 s) for our offer's first candidate, not only for gathering
      // to start (rolled back 22 ms after "gathering", with no candidate yet, it broke too)
      for (let i = 0; collision && i < 99 && (this.makingOffer || !this.gathered); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      this.screenId = data.screen || null;
      if (!this.screenId && this.screen) { // they stopped sharing
        this.screen = null;
        this.onScreen?.(null);
      }
      await pc.setRemoteDescription(data);
      if (data.type === 'offer') {
        this.held = false; // answering it negotiates what we held back; Chrome asks again if not all
        this.gathered = this.described = false;
        this.answering = true;
        try {
          this.sdpScreen = this.myScreen && this.screenStream.id;
          await pc.setLocalDescription();
          await this.describe('answer');
        } finally {
          this.answering = false;
        }
        if (this.offerNext) { // what Chrome asked for while the answer waited (a screen share's m-lines)
          this.offerNext = false;
          this.offer();
        }
      }
    } else if (kind === 'candidates') {
      for (const c of data) {
        try {
          await pc.addIceCandidate(c);
        } catch (e) {
          if (!this.ignoreOffer) console.warn('candidate', e);
        }
      }
    }
  }

  async stats() { // inbound numbers, for tests and debugging
    const out = {state: this.pc.connectionState, sig: this.pc.signalingState, framesDecoded: 0};
    (await this.pc.getStats()).forEach((r) => { out.framesDecoded += r.framesDecoded || 0; });
    return out;
  }

  // With bye, tell the other side first; resolves when the bye is sent.
  close(bye) {
    if (this.closed) return this.outbox;
    const done = bye ? this.post('bye', null) : this.outbox;
    this.closed = true;
    this.unwatch();
    clearTimeout(this.blip);
    clearTimeout(this.troubleTimer);
    clearTimeout(this.answerTimer);
    clearTimeout(this.holdTimer);
    this.pc.close();
    return done;
  }
}
