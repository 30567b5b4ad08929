// JSON in localStorage (name, devices) and sessionStorage (this tab's meeting, host keys).
const wrap = (name) => ({
  get(k) { try { return JSON.parse(window[name].getItem('parley.' + k)); } catch { return null; } },
  set(k, v) { try { window[name].setItem('parley.' + k, JSON.stringify(v)); } catch { /* blocked */ } },
  del(k) { try { window[name].removeItem('parley.' + k); } catch { /* blocked */ } },
});

export const prefs = wrap('localStorage');
export const session = wrap('sessionStorage');
