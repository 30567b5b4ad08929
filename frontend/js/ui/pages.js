// Whole-page messages (not found, ended, left, removed) and the loading page.
import {h} from './dom.js';

export function messagePage({id, title, text, error, action}) {
  return h('main', {class: 'message-page', id}, h('div', {class: 'card'},
    h('h1', {i18n: title}), text && h('p', {i18n: text}), error && h('p', {class: 'error'}, error),
    h('div', {class: 'row'},
      action && h('button', {type: 'button', class: 'primary', i18n: action.label, onclick: action.run}),
      h('a', {class: 'button', href: '#/', i18n: 'home'}))));
}

export const loadingPage = () => h('main', {class: 'message-page'},
  h('div', {class: 'spinner', role: 'status', i18nLabel: 'loading'}));
