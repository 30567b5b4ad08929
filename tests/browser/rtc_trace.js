// Test-only: records what every RTCPeerConnection on the page did, so a failing browser test
// can show both ends of a connection that never started (window.__rtcTrace()).
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  const all = [];
  const t0 = performance.now();
  const ufrag = (sdp) => (sdp && /a=ice-ufrag:(\S+)/.exec(sdp)?.[1]) || null;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      this.trace = [];
      this.n = all.push(this);
      const note = (...x) => this.trace.push([Math.round(performance.now() - t0), ...x]);
      this.note = note;
      const states = {signalingstatechange: 'signalingState', icegatheringstatechange: 'iceGatheringState',
        iceconnectionstatechange: 'iceConnectionState', connectionstatechange: 'connectionState'};
      for (const [ev, prop] of Object.entries(states)) this.addEventListener(ev, () => note(ev, this[prop]));
      this.addEventListener('negotiationneeded', () => note('negotiationneeded'));
      this.addEventListener('icecandidate', (e) => note('icecandidate', e.candidate?.candidate ? 'c' : 'end'));
      this.addEventListener('track', (e) => note('track', e.track.kind));
    }
    async setLocalDescription(d) {
      this.note('setLocal', d?.type || 'implicit', this.signalingState);
      try {
        const r = await super.setLocalDescription(d);
        this.note('setLocal ok', this.localDescription?.type, ufrag(this.localDescription?.sdp));
        return r;
      } catch (e) { this.note('setLocal err', String(e)); throw e; }
    }
    async setRemoteDescription(d) {
      this.note('setRemote', d?.type, ufrag(d?.sdp), this.signalingState);
      try {
        const r = await super.setRemoteDescription(d);
        this.note('setRemote ok');
        return r;
      } catch (e) { this.note('setRemote err', String(e)); throw e; }
    }
    async addIceCandidate(c) {
      try {
        const r = await super.addIceCandidate(c);
        this.note('addIce ok', c?.usernameFragment);
        return r;
      } catch (e) { this.note('addIce err', c?.usernameFragment, String(e).slice(0, 80)); throw e; }
    }
    restartIce() { this.note('restartIce', this.signalingState); return super.restartIce(); }
    addTrack(...a) { this.note('addTrack', a[0]?.kind); return super.addTrack(...a); }
    close() { this.note('close'); return super.close(); }
  };
  // The candidate pair each open connection sends and receives over: its ends' types (host,
  // srflx, prflx, relay), the local end's TURN transport (relayProtocol) and bytes received.
  window.__rtcPaths = () => Promise.all(all.filter((pc) => pc.connectionState !== 'closed').map(async (pc) => {
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
    if (!pair) return null;
    const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
    return {local: local.candidateType, remote: remote.candidateType, relayProtocol: local.relayProtocol || null,
      url: local.url || null, bytesReceived: pair.bytesReceived};
  }));
  window.__rtcTrace = () => all.map((pc) => ({
    n: pc.n, state: pc.connectionState, sig: pc.signalingState, ice: pc.iceConnectionState,
    gathering: pc.iceGatheringState, local: ufrag(pc.localDescription?.sdp),
    remote: ufrag(pc.remoteDescription?.sdp), transceivers: pc.getTransceivers().length,
    trace: pc.trace,
  }));
})();
