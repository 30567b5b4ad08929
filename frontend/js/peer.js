// One RTCPeerConnection per remote participant, with MDN's "perfect negotiation". No DOM.

export class Peer {
  // send(kind, data) -> Promise; onTrack(stream); onState(connectionState); onSendError(err);
  // onStuck(): still not connecting after 8 s, so fetch any ticket the socket missed
  constructor({selfId, remoteId, iceServers, send, onTrack, onState, onSendError, onStuck}) {
    Object.assign(this, {id: remoteId, polite: selfId > remoteId, send, onSendError});
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
    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        this.post('description', pc.localDescription.toJSON());
      } catch (e) {
        console.warn('negotiation', e);
      } finally {
        this.makingOffer = false;
      }
    };
    // Trickle ICE, batched: candidates found within 20 ms travel in one ticket.
    pc.onicecandidate = ({candidate}) => {
      if (!candidate?.candidate) return;
      if (this.candidates.push(candidate.toJSON()) > 1) return;
      setTimeout(() => this.post('candidates', this.candidates.splice(0)), 20);
    };
    pc.oniceconnectionstatechange = () => pc.iceConnectionState === 'failed' && pc.restartIce();
    pc.onconnectionstatechange = () => onState(pc.connectionState);
    // Nothing started after 8 s (a lost ticket?): replay, then offer again.
    this.watchdog = setInterval(() => {
      if (this.closed || pc.connectionState !== 'new') return;
      onStuck?.();
      if (this.makingOffer) return;
      if (pc.signalingState === 'have-local-offer') {
        pc.setLocalDescription({type: 'rollback'}).then(() => pc.onnegotiationneeded(), () => {});
      } else if (pc.signalingState === 'stable') pc.restartIce(); // new candidates too
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
    this.pc.close();
    return done;
  }
}
