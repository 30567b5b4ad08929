// DOM helpers. Text goes in only through textContent and text nodes, never innerHTML.
import {tr, LANGS, getLang, setLang} from '../i18n.js';

// h('button', {i18n: 'leave', onclick}, ...children); i18n keys: text, i18nLabel, i18nHint.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'i18n') tr(el, v);
    else if (k === 'i18nLabel') { tr(el, v, {}, 'aria-label'); tr(el, v, {}, 'title'); }
    else if (k === 'i18nHint') tr(el, v, {}, 'placeholder');
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (typeof v !== 'string' && k in el) el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.flat().filter((c) => c != null && c !== false));
  return el;
}

export const PATHS = { // modules loaded later add their own
  mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 6-6.9z',
  micOff: 'M19 11a7 7 0 0 1-1.2 3.9l-1.5-1.5A5 5 0 0 0 17 11zM15 5v6L9 5a3 3 0 0 1 6 0zM4.3 3 3 4.3l6 6v.7a3 3 0 0 0 4.4 2.7l1.6 1.6A5 5 0 0 1 7 11H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 3.4-1.4l3.3 3.3 1.3-1.3z',
  cam: 'M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11z',
  camOff: 'M21 6.5l-4 4V7a1 1 0 0 0-1-1H9.8L21 17.2zM3.3 2 2 3.3 4.7 6H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12l.5-.2 3.2 3.2 1.3-1.3z',
  leave: 'M12 9c-4 0-7.5 1.5-10 4l2.5 2.5 3.5-1.5v-3a14 14 0 0 1 8 0v3l3.5 1.5L22 13c-2.5-2.5-6-4-10-4z',
  link: 'M8 13h8v-2H8zm-4-1a3 3 0 0 1 3-3h4V7H7a5 5 0 0 0 0 10h4v-2H7a3 3 0 0 1-3-3zm13-5h-4v2h4a3 3 0 0 1 0 6h-4v2h4a5 5 0 0 0 0-10z',
  tune: 'M3 17v2h6v-2zM3 5v2h10V5zm10 16v-2h8v-2h-8v-2h-2v6zM7 9v2H3v2h4v2h2V9zm14 4v-2H11v2zm-6-4h2V7h4V5h-4V3h-2z',
  people: 'M9 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-8 8c0-3.3 3.6-6 8-6s8 2.7 8 6zM16 4a4 4 0 0 1 0 8zm2 16c0-2.3-1-4.2-2.6-5.5 3.3.5 6.6 2.5 6.6 5.5z',
};

export function icon(name) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  const path = document.createElementNS(svg.namespaceURI, 'path');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'icon');
  path.setAttribute('d', PATHS[name]);
  svg.append(path);
  return svg;
}

// A round mic / camera button: its label says what a press does, data-on what is now.
export function toggleButton(kind, on, onclick) {
  return setToggle(h('button', {type: 'button', class: 'round toggle', id: 'toggle-' + kind, onclick}),
    kind, on);
}

export function setToggle(b, kind, on) {
  b.classList.toggle('off', !on);
  b.dataset.on = on;
  tr(b, kind + (on ? '_off' : '_on'), {}, 'aria-label');
  tr(b, kind + (on ? '_off' : '_on'), {}, 'title');
  b.replaceChildren(icon(on ? kind : kind + 'Off'));
  return b;
}

export function langSelect(id) {
  const sel = h('select', {id, i18nLabel: 'lang'},
    Object.entries(LANGS).map(([k, v]) => h('option', {value: k}, v)));
  sel.value = getLang();
  sel.onchange = () => setLang(sel.value);
  return sel;
}
