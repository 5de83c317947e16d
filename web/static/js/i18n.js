// i18n: the console speaks Chinese by default with an English switch.
// Strings live in messages.js as key → [中文, English]; t() fills {vars}.
import { MESSAGES } from './messages.js';

const KEY = 'pingan.lang';
let current = localStorage.getItem(KEY) === 'en' ? 'en' : 'zh';
const listeners = new Set();

export function lang() { return current; }

export function setLang(l) {
  current = l === 'en' ? 'en' : 'zh';
  localStorage.setItem(KEY, current);
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  applyStatic(document);
  for (const fn of listeners) fn(current);
}

export function onLang(fn) { listeners.add(fn); return () => listeners.delete(fn); }

// t looks a key up; unknown keys come back as themselves so a missing
// string is visible but harmless.
export function t(key, vars) {
  const m = MESSAGES[key];
  let s = m ? (current === 'en' ? m[1] : m[0]) : key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
  return s;
}

// has reports whether a key is known (for enum labels with fallbacks).
export function has(key) { return key in MESSAGES; }

// label translates an enum value under a prefix, falling back to the value.
export function label(prefix, value) {
  if (value === undefined || value === null || value === '') return '—';
  const k = prefix + '.' + value;
  return has(k) ? t(k) : String(value);
}

// applyStatic translates elements of the static shell marked data-i18n
// (text) and data-i18n-attr="attr:key" (attributes).
export function applyStatic(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
