// One RTCPeerConnection per remote participant, with MDN's "perfect negotiation". No DOM.

export class Peer {
  // send(kind, data) -> Promise; onTrack(stream); onState(connectionState); onSendError(err);
  // onStuck(): still not connecting after 8 s, or an offer unanswered, so fetch any ticket the socket missed
  constructor({selfId, remoteId, iceServers, send, onTrack, onState, onSendError, onStuck}) {
    Object.assign(this, {id: remoteId, polite: selfId > remoteId, send, onSendError, onStuck});
    this.makingOffer = this.ignoreOffer = this.closed = false;
    this.inbox = this.outbox = Promise.resolve(); // tickets in and out, strictly in order
    this.candidates = [];
    this.stream = new MediaStream();
    const pc = this.pc = new RTCPeerConnection({iceServers});

    pc.ontrack = ({track}) => {
      this.stream.getTracks().forEach((t) => t.kind === track.kind && this.stream.removeTrack(t));
      this.stream.addTrack(track);
      onTrack(this.stream);
    };
    pc.onnegotiationneeded = () => this.offer();
    // Trickle ICE, batched: candidates found within 20 ms travel in one ticket.
    pc.onicecandidate = ({candidate}) => {
      if (!candidate?.candidate) return;
      if (this.candidates.push(candidate.toJSON()) > 1) return;
      setTimeout(() => this.post('candidates', this.candidates.splice(0)), 20);
    };
    pc.oniceconnectionstatechange = () => pc.iceConnectionState === 'failed' && pc.restartIce();
    pc.onconnectionstatechange = () => onState(pc.connectionState);
    pc.onsignalingstatechange = () => {
      clearTimeout(this.answerTimer);
      if (pc.signalingState === 'have-local-offer') this.awaitAnswer(3);
    };
    // Nothing started after 8 s (a lost ticket?): replay, then restart ICE if negotiated.
    this.watchdog = setInterval(() => {
      if (this.closed || pc.connectionState !== 'new') return;
      onStuck?.();
      if (!this.makingOffer && pc.signalingState === 'stable' && pc.remoteDescription) pc.restartIce(); // new candidates
    }, 8000);
  }

  // MDN's negotiationneeded handler, one offer at a time.
  async offer() {
    const pc = this.pc;
    if (this.closed || this.makingOffer || pc.signalingState !== 'stable') return;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      this.post('description', pc.localDescription.toJSON());
    } catch (e) {
      console.warn('negotiation', e);
    } finally {
      this.makingOffer = false;
    }
  }

  // An offer must not wait for its answer for ever (a ticket lost?), connected or not: after 8 s,
  // fetch missed tickets and send it again, as it is now, with the candidates gathered since; up
  // to n times. Rolling it back to make a new one would be worse: Chrome then fires
  // negotiationneeded as well, and a second offer follows.
  awaitAnswer(n) {
    this.answerTimer = setTimeout(() => {
      if (this.closed || this.pc.signalingState !== 'have-local-offer' || this.makingOffer) return;
      this.onStuck?.();
      this.post('description', this.pc.localDescription.toJSON());
      if (n > 1) this.awaitAnswer(n - 1);
    }, 8000);
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

  // replaceTrack where this kind is sent already (no renegotiation), else addTrack (renegotiates).
  setTracks(stream) {
    if (this.closed) return;
    for (const kind of ['audio', 'video']) {
      const track = stream.getTracks().find((t) => t.kind === kind) || null;
      const tr = this.pc.getTransceivers().find((x) => x.receiver.track.kind === kind);
      if (tr && /send/.test(tr.direction)) {
        if (tr.sender.track !== track) tr.sender.replaceTrack(track).catch((e) => console.warn(e));
      } else if (track) {
        this.pc.addTrack(track, stream);
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
      // Chrome breaks a connection for good when an offer is rolled back before it gathers
      for (let i = 0; collision && i < 99 && (this.makingOffer || pc.iceGatheringState === 'new'); i++) {
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
    clearInterval(this.watchdog);
    clearTimeout(this.answerTimer);
    this.pc.close();
    return done;
  }
}
