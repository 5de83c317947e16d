// Small DOM helpers: an element builder, formatting, toasts and modal
// dialogs built on <dialog>. No framework; every page builds its own nodes.
import { t, lang } from './i18n.js';

// h('div.cls#id', {attrs}, children...) builds an element. Attributes named
// on* become listeners; `dataset`, `style` objects and booleans are handled.
export function h(tag, attrs, ...children) {
  const m = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(tag) || [];
  const el = document.createElement(m[1] || 'div');
  for (const part of (m[2] || '').match(/[.#][\w-]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1)); else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k === 'class') el.className = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function clear(el) { el.replaceChildren(); return el; }

// Formatting in the console's language; times are shown in the browser's
// zone, which in a command center is the center's zone.
export function fmtTime(v, withDate = true) {
  if (!v) return '—';
  const d = new Date(v);
  if (isNaN(d) || d.getFullYear() < 1971) return '—';
  const opts = withDate
    ? { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }
    : { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false };
  return d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB', opts);
}

// fmtLeft says how long until (or since) a deadline: "剩 3小时" / "超 2天".
export function fmtLeft(v) {
  if (!v) return '—';
  const ms = new Date(v).getTime() - Date.now();
  if (isNaN(ms)) return '—';
  const abs = Math.abs(ms);
  const mins = Math.round(abs / 60000);
  let txt;
  if (mins < 60) txt = t('time.min', { n: mins });
  else if (mins < 48 * 60) txt = t('time.hour', { n: Math.round(mins / 60) });
  else txt = t('time.day', { n: Math.round(mins / 1440) });
  return ms >= 0 ? t('time.left', { d: txt }) : t('time.over', { d: txt });
}

export function fmtPct(x) { return x === undefined || x === null || isNaN(x) ? '—' : (x * 100).toFixed(1) + '%'; }
export function fmtNum(x, digits = 0) { return x === undefined || x === null || isNaN(x) ? '—' : Number(x).toFixed(digits); }
export function fmtBytes(n) {
  if (!n) return '0 B';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  const i = Math.min(u.length - 1, Math.floor(Math.log(n) / Math.log(1024)));
  return (n / 1024 ** i).toFixed(i ? 1 : 0) + ' ' + u[i];
}

// Toasts: a polite live region at the bottom right.
export function toast(message, kind = 'info', ms = 4000) {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div#toasts', { role: 'status', 'aria-live': 'polite', testid: 'toasts' });
    document.body.append(box);
  }
  const el = h('div.toast.' + kind, { testid: 'toast' }, message);
  box.append(el);
  setTimeout(() => el.remove(), ms);
}

// dialog opens a modal <dialog> with body nodes and buttons and resolves
// with the value of the button pressed (or null on Escape/cancel).
export function dialog({ title, body = [], buttons, testid = 'dialog', wide = false }) {
  return new Promise((resolve) => {
    const form = h('form', { method: 'dialog' });
    const dlg = h('dialog.dlg' + (wide ? '.wide' : ''), { testid, 'aria-label': title }, form);
    const btns = (buttons || [{ label: t('ok'), value: 'ok', primary: true }, { label: t('cancel'), value: '' }])
      .map((b) => h('button' + (b.primary ? '.primary' : '') + (b.danger ? '.danger' : ''),
        { type: b.value ? 'submit' : 'button', value: b.value, testid: 'dialog-' + (b.value || 'cancel'),
          onclick: b.value ? null : () => dlg.close('') }, b.label));
    form.append(h('h2', title), h('div.dlg-body', body), h('div.dlg-buttons', btns));
    document.body.append(dlg);
    dlg.addEventListener('close', () => { dlg.remove(); resolve(dlg.returnValue || null); });
    dlg.showModal();
  });
}

// formDialog asks for fields and resolves with their values, or null.
// field: {name, label, type: text|password|number|select|multi|textarea|datetime, options, required, value}
export async function formDialog({ title, fields, submit, testid = 'form-dialog', validate }) {
  const inputs = {};
  const rows = fields.map((f) => {
    let input;
    const common = { name: f.name, required: !!f.required, testid: 'field-' + f.name };
    if (f.type === 'select' || f.type === 'multi') {
      input = h('select', { ...common, multiple: f.type === 'multi', size: f.type === 'multi' ? Math.min(8, f.options.length || 1) : null },
        (f.required || f.type === 'multi' ? [] : [h('option', { value: '' }, '—')]).concat(
          f.options.map((o) => h('option', { value: o.value, selected: [].concat(f.value ?? []).includes(o.value) }, o.label))));
    } else if (f.type === 'textarea') {
      input = h('textarea', { ...common, rows: 3 }, f.value || '');
    } else {
      input = h('input', { ...common, type: f.type === 'datetime' ? 'datetime-local' : (f.type || 'text'),
        value: f.value ?? '', min: f.min, max: f.max, placeholder: f.placeholder || '', autocomplete: f.autocomplete || 'off' });
    }
    inputs[f.name] = { f, input };
    return h('label.field', h('span', f.label + (f.required ? ' *' : '')), input);
  });
  const err = h('p.error', { role: 'alert' });
  for (;;) {
    const form = h('div', rows, err);
    const res = await dialog({ title, testid, body: [form], buttons: [
      { label: submit || t('ok'), value: 'ok', primary: true }, { label: t('cancel'), value: '' }] });
    if (res !== 'ok') return null;
    const out = {};
    let missing = null;
    for (const [name, { f, input }] of Object.entries(inputs)) {
      let v = f.type === 'multi' ? [...input.selectedOptions].map((o) => o.value) : input.value.trim();
      if (f.type === 'number' && v !== '') v = Number(v);
      if (f.type === 'checkbox') v = input.checked;
      if (f.required && (v === '' || (Array.isArray(v) && !v.length))) missing = missing || f.label;
      out[name] = v;
    }
    const problem = missing ? t('err.required', { f: missing }) : (validate ? validate(out) : '');
    if (!problem) return out;
    err.textContent = problem;
  }
}

export async function confirmDialog(title, message, danger = false) {
  const r = await dialog({ title, testid: 'confirm-dialog', body: [h('p', message)], buttons: [
    { label: t('ok'), value: 'ok', primary: !danger, danger }, { label: t('cancel'), value: '' }] });
  return r === 'ok';
}

// debounce returns fn delayed until calls stop for ms.
export function debounce(fn, ms) {
  let timer = 0;
  return (...a) => { clearTimeout(timer); timer = setTimeout(() => fn(...a), ms); };
}

// icon returns a small inline SVG from a path list (our own glyphs).
const ICONS = {
  wall: 'M3 3h8v8H3zM13 3h8v8h-8zM3 13h8v8H3zM13 13h8v8h-8z',
  cases: 'M4 4h16v4H4zM4 10h16v10H4zM8 14h8',
  incident: 'M12 2l10 18H2zM12 9v5M12 17v1',
  stats: 'M4 20V10M10 20V4M16 20v-7M22 20H2',
  meeting: 'M3 6h12v12H3zM15 10l6-4v12l-6-4',
  class: 'M2 8l10-5 10 5-10 5zM6 10v6c3 3 9 3 12 0v-6',
  admin: 'M12 8a4 4 0 100 8 4 4 0 000-8zM12 2v3M12 19v3M2 12h3M19 12h3M5 5l2 2M17 17l2 2M5 19l2-2M17 7l2-2',
  full: 'M3 9V3h6M21 9V3h-6M3 15v6h6M21 15v6h-6',
  close: 'M5 5l14 14M19 5L5 19',
  up: 'M12 5l-7 8h14z', search: 'M10 4a6 6 0 100 12 6 6 0 000-12zM15 15l6 6',
};
export function icon(name, size = 18) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', size);
  svg.setAttribute('height', size);
  svg.setAttribute('aria-hidden', 'true');
  svg.classList.add('icon');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', ICONS[name] || '');
  svg.append(p);
  return svg;
}
