// Screen share: the browser's getDisplayMedia as an extra video track (and the shared tab's
// or screen's audio when the browser offers it), sent to every peer on transceivers of its
// own, so the camera keeps going and each side can tell the two apart (peer.js: descriptions
// name the share's stream). Ends from our button or the browser's own "Stop sharing" bar.
import {h, icon} from './dom.js';
import {t} from '../i18n.js';
import {toast} from './toasts.js';

// Text on a screen must stay sharp: Chrome keeps the resolution and drops frames instead for
// `contentHint = "detail"`; 15 frames a second and 1.5 Mbit/s are plenty for slides and code.
const VIDEO = {frameRate: {ideal: 15, max: 15}, width: {max: 1920}, height: {max: 1080}};
const ENCODING = {maxBitrate: 1.5e6, maxFramerate: 15};

// Our share (a stream) to one peer, or null to stop it there. The transceivers stay for the
// next share (a new share renegotiates their direction instead of adding m-lines each time),
// and so does the stream id they carry (`screenStream`, the one descriptions name): a new id
// would reach the other side in a later offer than the new direction, and the share would
// arrive first under an id the other side takes for the camera.
export function shareTo(peer, stream) {
  if (peer.closed || stream === peer.myScreen) return;
  peer.myScreen = stream;
  peer.screenStream ||= new MediaStream();
  for (const kind of ['video', 'audio']) {
    const track = stream?.getTracks().find((x) => x.kind === kind) || null;
    const share = peer.shares[kind];
    if (share) {
      share.sender.replaceTrack(track).catch((e) => console.warn('share', e));
      share.direction = track ? 'sendonly' : 'inactive';
    } else if (track) {
      peer.shares[kind] = peer.pc.addTransceiver(track, {direction: 'sendonly', streams: [peer.screenStream],
        sendEncodings: kind === 'video' ? [ENCODING] : undefined});
    }
  }
}

export class ScreenShare {
  // room: the Room (peers, patch, screen); onChange(stream or null) after it starts or stops.
  constructor(room, onChange) {
    Object.assign(this, {room, onChange});
    this.button = h('button', {type: 'button', class: 'round', id: 'toggle-screen', 'aria-pressed': 'false',
      onclick: () => (room.screen ? this.stop() : this.start())}, icon('screen'));
    this.label();
  }

  label() {
    const key = this.room.screen ? 'stop_share' : 'share_screen';
    this.button.setAttribute('aria-pressed', !!this.room.screen);
    this.button.setAttribute('aria-label', t(key));
    this.button.title = t(key);
  }

  async start() {
    if (!navigator.mediaDevices?.getDisplayMedia) return toast(t('share_unsupported'), 'error');
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({video: VIDEO, audio: true});
    } catch (e) { // cancelled in the browser's picker: nothing to say
      if (e.name !== 'NotAllowedError' && e.name !== 'AbortError') toast(t('share_failed'), 'error');
      return;
    }
    const room = this.room;
    if (room.closed || room.screen) return stream.getTracks().forEach((x) => x.stop());
    const [video] = stream.getVideoTracks();
    video.contentHint = 'detail';
    video.addEventListener('ended', () => this.room.screen === stream && this.stop());
    room.screen = stream;
    room.peers.forEach((peer) => shareTo(peer, stream));
    room.patch({screen: true});
    this.label();
    this.onChange(stream);
  }

  stop(quiet = false) { // quiet: the room is closing, nobody is left to tell
    const stream = this.room.screen;
    if (!stream) return;
    this.room.screen = null;
    stream.getTracks().forEach((x) => x.stop());
    if (quiet) return;
    this.room.peers.forEach((peer) => shareTo(peer, null));
    this.room.patch({screen: false});
    this.label();
    this.onChange(null);
  }
}
