// ICE recovery when the network comes back, loaded with the room's tools (ui/roomtools.js).
// peer.js restarts a connection that fails or stays disconnected for 2.5 s; this adds the two
// moments when the network is known to be back: the socket opened again (after the room re-read
// who is here: `recover()` from roomtools' resync), and the browser online again while the socket
// stayed open (when it did not, signaling.js reconnects it, and the first moment follows).
// Then every connection that is not connected restarts ICE at once, however recently it last
// restarted (the network the last restart gathered on may be gone; its offer may be lost), and
// is watched again (during a long outage its watchdog may have given up). As everywhere, only
// the impolite side restarts (peer.js: both at once is glare). A connected one is left alone:
// if the network under it changed, it goes disconnected and peer.js restarts it 2.5 s later
// (a restart of each on every reopened socket would also rebuild a recorder's connection, and
// the socket reopens every 110 min anyway). An offer of ours still waiting for its answer (a
// restart made while the network was down, say) restarts once it is answered; if it is still
// waiting RESEND ms later, it was most likely lost with the network, and goes again (sent again
// at once, it was seen answered twice when it had not been lost).

const RESEND = 3e3;

export function recovery(room) {
  function recover() {
    for (const peer of room.peers.values()) {
      const pc = peer.pc;
      if (peer.polite || peer.closed || pc.connectionState === 'connected') continue;
      peer.watch();
      peer.restart(true);
      const offer = pc.signalingState === 'have-local-offer' && pc.localDescription.sdp;
      if (offer) {
        setTimeout(() => {
          const waiting = pc.signalingState === 'have-local-offer' && pc.localDescription.sdp === offer;
          if (waiting && !peer.closed && !peer.makingOffer) peer.post('description', peer.description());
        }, RESEND);
      }
    }
  }
  // signaling.js hears `online` first (it listened first): by now a closed socket is reconnecting
  const online = () => room.sig?.isOpen() && recover();
  addEventListener('online', online);
  return {recover, close: () => removeEventListener('online', online)};
}
