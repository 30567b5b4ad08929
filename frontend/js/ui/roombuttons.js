// Two of the room's own buttons, loaded with its tools: the device card (and the notice when
// the chosen speaker is unplugged) and the invite link.
import {t} from '../i18n.js';
import {listDevices, mediaError} from '../media.js';
import {prefs} from '../store.js';
import {toast} from './toasts.js';
import {devicesMenu} from './devices.js';

export function roomButtons(room) {
  let menu = null;
  async function pick(kind, id) { // a device picked while its kind is off is the one it starts with
    if (!room.track(kind)) return prefs.set(kind, id);
    const error = await room.swap(kind, id);
    if (error?.kept) toast(t('switch_kept'), 'error');
    else if (error) room.failed([kind], mediaError(error));
  }
  // The chosen speaker unplugged: the browser plays on the default one; say so, once.
  const devicechange = async () => {
    const id = prefs.get('output');
    if (id && !(await listDevices()).output.some((d) => d.deviceId === id)) {
      prefs.set('output', null);
      toast(t('output_gone'));
    }
  };
  navigator.mediaDevices?.addEventListener('devicechange', devicechange);
  return {
    async devices() { // the card opens, or closes when open
      if (menu) return menu.close?.();
      menu = {};
      menu = await devicesMenu({current: (kind) => room.track(kind)?.getSettings().deviceId || prefs.get(kind),
        pick, onClose: () => { menu = null; }});
      if (room.closed) menu.close(); else room.view.el.append(menu.el);
    },
    async copyLink() {
      const link = location.origin + location.pathname + '#/' + room.mid; // never the passcode
      try {
        await navigator.clipboard.writeText(link);
        toast(t('copied'));
      } catch {
        toast(t('copy_failed', {link}), 'info', 15e3);
      }
    },
    close() {
      menu?.close?.();
      navigator.mediaDevices?.removeEventListener('devicechange', devicechange);
    },
  };
}
