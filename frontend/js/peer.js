// One RTCPeerConnection per remote participant, with MDN's "perfect negotiation". No DOM.

const TICK = 8e3; // the watchdog's period
const GIVE_UP = 15e3; // not connected for this long: onTrouble(true)

export class Peer {
  // send(kind, data) -> Promise; onTrack(stream); onState(connectionState); onSendError(err);
  // onStuck(): something is overdue, so fetch any ticket the socket missed;
  // onTrouble(on): true after 15 s without a connection or at once on failed, false once connected
  constructor({selfId, remoteId, iceServers, send, onTrack, onState, onSendError, onStuck, onTrouble}) {
    Object.assign(this, {id: remoteId, polite: selfId > remoteId, send, onSendError, onStuck, onTrouble});
    this.makingOffer = this.ignoreOffer = this.closed = this.trouble = this.wasUp = false;
    this.inbox = this.outbox = Promise.resolve(); // tickets in and out, strictly in order
    this.candidates = [];
    this.restartedAt = -Infinity;
    this.stream = new MediaStream();
    const pc = this.pc = new RTCPeerConnection({iceServers});
    // The impolite side (the one that offers) opens a data channel, so a connection always has
    // something to negotiate, even between two people with neither camera nor microphone.
    if (!this.polite) this.channel = pc.createDataChannel('parley');

    pc.ontrack = ({track}) => {
      this.stream.getTracks().forEach((t) => t.kind === track.kind && this.stream.removeTrack(t));
      this.stream.addTrack(track);
      onTrack(this.stream);
    };
    pc.onnegotiationneeded = () => this.offer();
    // Trickle ICE, batched: candidates found within 20 ms travel in one ticket.
    pc.onicecandidate = ({candidate}) => {
      this.gathered = true; // a candidate, or the end of them: see apply()
      if (!candidate?.candidate) return;
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
      if (state === 'connected') {
        this.wasUp = true;
        this.unwatch();
        this.setTrouble(false);
      } else if (state === 'failed' || state === 'disconnected') {
        if (this.wasUp) this.watch(); // it worked and broke: try again for a while
        this.wasUp = false;
        if (state === 'failed') this.setTrouble(true);
        if (state === 'failed' && this.watchdog) this.restart();
      }
    };
    this.watch();
  }

  // MDN's negotiationneeded handler, one offer at a time.
  async offer() {
    const pc = this.pc;
    if (this.closed || this.makingOffer || pc.signalingState !== 'stable') return;
    try {
      this.makingOffer = true;
      this.gathered = false;
      await pc.setLocalDescription();
      this.post('description', pc.localDescription.toJSON());
    } catch (e) {
      console.warn('negotiation', e);
    } finally {
      this.makingOffer = false;
    }
  }

  // An offer must not wait for its answer for ever (a ticket lost?), connected or not: after a
  // watchdog period, fetch missed tickets and send it again, as it is now, with the candidates
  // gathered since; up to n times. Rolling it back to make a new one would be worse: Chrome then
  // fires negotiationneeded as well, and after a rollback of the offer that brought the data
  // channel it asks to negotiate again after every answer, for ever.
  awaitAnswer(n) {
    this.answerTimer = setTimeout(() => {
      if (this.closed || this.pc.signalingState !== 'have-local-offer' || this.makingOffer) return;
      this.onStuck?.();
      this.post('description', this.pc.localDescription.toJSON());
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

  restart() { // ICE restart (it makes a new offer), at most once per watchdog period
    if (performance.now() - this.restartedAt < TICK - 500) return;
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
    this.setTrouble(false);
    this.onStuck?.();
    this.restartedAt = performance.now();
    pc.restartIce();
    if (pc.signalingState === 'have-local-offer' && !this.makingOffer) {
      this.post('description', pc.localDescription.toJSON());
    }
    this.watch();
  }

  post(kind, data) { // a busy or flaky server gets the same ticket again, a few times
    const send = (n) => this.send(kind, data).catch(async (e) => {
      if (n > 3 || this.closed || !/rate_lim|network|internal/.test(e.code)) throw e;
      await new Promise((r) => setTimeout(r, (e.retryAfter || 1) * 1e3));
      return send(n + 1);
    });
    if (!this.closed) this.outbox = this.outbox.then(() => send(0)).catch(this.onSendError);
    return this.outbox;
  }

  // replaceTrack on our own sender of this kind (no renegotiation), else addTrack (renegotiates).
  // Our senders are remembered: the first transceiver of a kind may be one the other side added.
  setTracks(stream) {
    if (this.closed) return;
    const senders = (this.senders ||= {});
    for (const kind of ['audio', 'video']) {
      const track = stream.getTracks().find((t) => t.kind === kind) || null;
      if (senders[kind]) {
        if (senders[kind].track !== track) senders[kind].replaceTrack(track).catch((e) => console.warn(e));
      } else if (track) {
        senders[kind] = this.pc.addTrack(track, stream);
      }
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
      await pc.setRemoteDescription(data);
      if (data.type === 'offer') {
        await pc.setLocalDescription();
        this.post('description', pc.localDescription.toJSON());
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
    clearTimeout(this.troubleTimer);
    clearTimeout(this.answerTimer);
    this.pc.close();
    return done;
  }
}
