// Small SVG charts of our own: grouped horizontal bars, a donut and a
// rate bar list. They scale with their container (viewBox) and label every
// value, so a printed bulletin is readable without hovering.
const NS = 'http://www.w3.org/2000/svg';

export const PALETTE = ['#2d8cff', '#25c7f2', '#2fc56f', '#f4c03f', '#ff9838', '#ff4d55', '#a06cff', '#7f97b8'];

function el(tag, attrs, ...kids) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function svg(w, h, title, kind = '') {
  const s = el('svg', { viewBox: `0 0 ${w} ${h}`, class: 'chart ' + kind, role: 'img', 'aria-label': title });
  s.append(el('title', {}, title));
  return s;
}

function clip(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + '…' : s; }

// bars draws one row per item with one bar per series.
// items: [{label, values: [..]}]; series: [{name, color}]; fmt(v) → text.
export function bars({ title, items, series, fmt = String, max }) {
  const rowH = 14 * series.length + 12;
  const left = 110, right = 60, w = 560;
  const h = Math.max(60, items.length * rowH + 24);
  const s = svg(w, h, title);
  const top = Math.max(1e-9, max ?? Math.max(...items.flatMap((i) => i.values), 0));
  const span = w - left - right;
  s.append(el('line', { x1: left, y1: 4, x2: left, y2: h - 16, class: 'axis' }));
  items.forEach((it, r) => {
    const y0 = 8 + r * rowH;
    s.append(el('text', { x: left - 6, y: y0 + (rowH - 12) / 2 + 4, 'text-anchor': 'end' }, clip(it.label, 14)));
    series.forEach((se, k) => {
      const v = it.values[k] || 0;
      const bw = Math.max(0, (v / top) * span);
      const y = y0 + k * 14;
      s.append(el('rect', { x: left, y, width: bw, height: 11, rx: 2, fill: se.color }, el('title', {}, `${it.label} · ${se.name}: ${fmt(v)}`)));
      s.append(el('text', { x: left + bw + 4, y: y + 9, class: 'val' }, fmt(v)));
    });
  });
  if (!items.length) s.append(el('text', { x: w / 2, y: h / 2, 'text-anchor': 'middle' }, '—'));
  return s;
}

// donut draws shares of a whole: parts [{label, value, color}].
export function donut({ title, parts, center }) {
  const w = 320, h = 180, cx = 90, cy = 90, r = 70, rr = 44;
  const s = svg(w, h, title, 'donut');
  const total = parts.reduce((a, p) => a + (p.value || 0), 0);
  let a0 = -Math.PI / 2;
  if (!total) s.append(el('circle', { cx, cy, r: (r + rr) / 2, fill: 'none', stroke: '#1d3a64', 'stroke-width': r - rr }));
  for (const p of parts) {
    if (!p.value) continue;
    const a1 = a0 + (p.value / total) * Math.PI * 2;
    const big = a1 - a0 > Math.PI ? 1 : 0;
    const pt = (rad, a) => `${cx + rad * Math.cos(a)} ${cy + rad * Math.sin(a)}`;
    const d = p.value === total
      ? `M ${pt(r, 0)} A ${r} ${r} 0 1 1 ${pt(r, Math.PI)} A ${r} ${r} 0 1 1 ${pt(r, 0)} M ${pt(rr, 0)} A ${rr} ${rr} 0 1 0 ${pt(rr, Math.PI)} A ${rr} ${rr} 0 1 0 ${pt(rr, 0)} Z`
      : `M ${pt(r, a0)} A ${r} ${r} 0 ${big} 1 ${pt(r, a1)} L ${pt(rr, a1)} A ${rr} ${rr} 0 ${big} 0 ${pt(rr, a0)} Z`;
    s.append(el('path', { d, fill: p.color, 'fill-rule': 'evenodd' }, el('title', {}, `${p.label}: ${p.value}`)));
    a0 = a1;
  }
  s.append(el('text', { x: cx, y: cy + 6, 'text-anchor': 'middle', class: 'val', 'font-size': 18 }, center ?? total));
  parts.forEach((p, i) => {
    const y = 30 + i * 22;
    s.append(el('rect', { x: 185, y: y - 10, width: 12, height: 12, rx: 2, fill: p.color }));
    s.append(el('text', { x: 203, y }, `${clip(p.label, 8)}  ${p.value}${total ? ` (${((p.value / total) * 100).toFixed(0)}%)` : ''}`));
  });
  return s;
}

// gauge draws a rate (0..1) as a half ring with the figure in the middle.
export function gauge({ title, value, color = '#2fc56f' }) {
  const w = 180, h = 110, cx = 90, cy = 95, r = 70;
  const s = svg(w, h, title, 'gauge');
  const v = Math.max(0, Math.min(1, value || 0));
  const arc = (to, stroke) => {
    const a = Math.PI * (1 - to);
    return el('path', { d: `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${cx + r * Math.cos(a)} ${cy - r * Math.sin(a)}`, fill: 'none', stroke, 'stroke-width': 14, 'stroke-linecap': 'round' });
  };
  s.append(arc(1, '#1d3a64'));
  if (v > 0) s.append(arc(v, color));
  s.append(el('text', { x: cx, y: cy - 10, 'text-anchor': 'middle', class: 'val', 'font-size': 22 }, value === null || value === undefined ? '—' : (v * 100).toFixed(1) + '%'));
  s.append(el('text', { x: cx, y: cy + 12, 'text-anchor': 'middle' }, title));
  return s;
}
