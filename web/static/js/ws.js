// The console's one WebSocket (/ws, docs/signaling.md): topic subscriptions
// shared by all pages, the last seen event offset so a reconnect resumes
// where it stopped (after=), reconnect with backoff, and a reset callback
// for pages when the server says recovered:false (they reload over HTTP).
import { getToken } from './api.js';

const subs = new Set();          // {topic, fn, onReset}
const statusFns = new Set();
const rawFns = new Set();         // non-event messages (room signaling)
const pending = new Map();        // request id → {resolve, reject, timer}
let sock = null;
let offset = null;                // last durable offset seen on this tab
let backoff = 500;
let timer = 0;
let wanted = false;
let seq = 0;
let status = 'off';

const durable = (topic) => topic === 'cases' || topic === 'incidents' || topic.startsWith('case:') || topic.startsWith('incident:');

export function wsStatus() { return status; }
export function lastOffset() { return offset; }
export function onStatus(fn) { statusFns.add(fn); fn(status); return () => statusFns.delete(fn); }
function setStatus(s) { status = s; for (const fn of statusFns) fn(s); }

// subscribe listens to topic; fn(event, msg) gets each event once.
// onReset() is called when events may have been missed (recovered:false,
// or an ephemeral topic after a reconnect): reload from the HTTP API.
export function subscribe(topic, fn, onReset) {
  const s = { topic, fn, onReset };
  const fresh = ![...subs].some((x) => x.topic === topic);
  subs.add(s);
  connect();
  if (fresh && sock && sock.readyState === WebSocket.OPEN) sendSubscribe([topic]);
  return () => {
    subs.delete(s);
    if (![...subs].some((x) => x.topic === topic) && sock && sock.readyState === WebSocket.OPEN) {
      send({ type: 'unsubscribe', topics: [topic] });
    }
  };
}

// onMessage receives every non-event message (room signaling, errors).
export function onMessage(fn) { rawFns.add(fn); connect(); return () => rawFns.delete(fn); }

export function send(msg) {
  if (!sock || sock.readyState !== WebSocket.OPEN) return false;
  sock.send(JSON.stringify({ v: 1, id: String(++seq), ...msg }));
  return true;
}

// request sends {type, data} once the socket is open and resolves with the
// server's reply to it (same id); an "error" reply rejects with an Error
// carrying .code. It rejects after timeout ms without an answer.
export function request(type, data, timeout = 15000) {
  connect();
  return new Promise((resolve, reject) => {
    const id = 'q' + (++seq);
    const fail = (code, message) => { pending.delete(id); const e = new Error(message); e.code = code; reject(e); };
    const timer = setTimeout(() => { unsub(); fail('timeout', type + ': no answer'); }, timeout);
    const go = () => {
      pending.set(id, { resolve: (m) => { clearTimeout(timer); pending.delete(id); resolve(m); }, fail: (c, m) => { clearTimeout(timer); fail(c, m); } });
      sock.send(JSON.stringify({ v: 1, id, type, ...(data !== undefined ? { data } : {}) }));
    };
    let unsub = () => {};
    if (sock && sock.readyState === WebSocket.OPEN) { go(); return; }
    unsub = onStatus((st) => {
      if (st !== 'on' || !sock || sock.readyState !== WebSocket.OPEN) return;
      queueMicrotask(() => unsub());
      go();
    });
  });
}

function sendSubscribe(topics) {
  const msg = { type: 'subscribe', topics };
  if (offset !== null && topics.some(durable)) msg.after = offset;
  send(msg);
}

export function connect() {
  wanted = true;
  if (sock || !getToken()) return;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let ws;
  try {
    ws = new WebSocket(`${proto}//${location.host}/ws?access_token=${encodeURIComponent(getToken())}`);
  } catch {
    schedule();
    return;
  }
  sock = ws;
  setStatus('connecting');
  let resumed = offset !== null;
  ws.onopen = () => {
    backoff = 500;
    setStatus('on');
    const topics = [...new Set([...subs].map((s) => s.topic))];
    if (topics.length) sendSubscribe(topics);
    // Ephemeral topics carry no history: their pages reload after a reconnect.
    if (resumed) for (const s of subs) if (!durable(s.topic) && s.onReset) s.onReset();
    resumed = true;
  };
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    handle(msg);
  };
  ws.onerror = () => {};
  ws.onclose = () => {
    if (sock === ws) sock = null;
    for (const p of [...pending.values()]) p.fail('closed', 'connection closed');
    setStatus('off');
    if (wanted) schedule();
  };
}

function schedule() {
  clearTimeout(timer);
  const wait = backoff + Math.random() * backoff * 0.3;
  backoff = Math.min(backoff * 2, 15000);
  timer = setTimeout(() => { if (wanted) connect(); }, wait);
}

export function disconnect() {
  wanted = false;
  clearTimeout(timer);
  offset = null;
  if (sock) { const s = sock; sock = null; s.close(); }
  setStatus('off');
}

function matches(topic, msg) {
  const ev = msg.event || {};
  if (msg.topic === topic) return true;
  if (topic === 'cases') return /^(case|department)\./.test(ev.type || '');
  if (topic === 'incidents') return (ev.type || '').startsWith('incident.');
  if (topic.startsWith('case:')) return ev.case === topic.slice(5);
  if (topic.startsWith('incident:')) return ev.incident === topic.slice(9);
  return false;
}

function handle(msg) {
  if (msg.id && pending.has(msg.id)) {
    const p = pending.get(msg.id);
    if (msg.type === 'error') { const e = msg.error || (msg.data && msg.data.error) || msg.data || {}; p.fail(e.code || 'error', e.message || 'error'); } else p.resolve(msg);
    return;
  }
  if (msg.type === 'subscribed') {
    const after = msg.data && msg.data.after;
    if (offset === null && typeof after === 'number' && (msg.data.topics || []).some(durable)) offset = after;
    return;
  }
  if (msg.type === 'recovered' && msg.recovered === false) {
    for (const s of subs) if (s.onReset) s.onReset();
    return;
  }
  if (msg.type === 'event') {
    const off = msg.offset ?? (msg.event && msg.event.offset);
    if (typeof off === 'number' && durable(msg.topic || '')) {
      if (offset !== null && off <= offset) return; // already seen
      offset = off;
    }
    for (const s of [...subs]) {
      if (matches(s.topic, msg)) {
        try { s.fn(msg.event || {}, msg); } catch (e) { console.warn('ws handler', e); }
      }
    }
    return;
  }
  for (const fn of rawFns) {
    try { fn(msg); } catch (e) { console.warn('ws handler', e); }
  }
}
