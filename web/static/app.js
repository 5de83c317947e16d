// Minimal console: sign in, list streams, watch one over WHEP.
// No external assets; the full console replaces this page.
import { whepPlay } from './whep.js';

const $ = (s) => document.querySelector(s);
let token = sessionStorage.getItem('pingan.token') || '';
let session = null;

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: 'Bearer ' + token } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401) { signOut(); }
  if (!res.ok) throw new Error(data.error ? data.error.message : res.statusText);
  return data;
}

function signOut() {
  token = '';
  sessionStorage.removeItem('pingan.token');
  if (session) { session.close(); session = null; }
  show();
}

async function show() {
  $('#login').hidden = !!token;
  $('#streams').hidden = !token;
  $('#logout').hidden = !token;
  if (!token) { $('#who').textContent = ''; return; }
  try {
    const me = await api('GET', '/api/v1/me');
    const u = me.user || me;
    $('#who').textContent = `${u.username} (${u.role})`;
    await listStreams();
  } catch (e) { console.warn(e); }
}

async function listStreams() {
  const data = await api('GET', '/api/v1/streams');
  const rows = $('#stream-rows');
  rows.replaceChildren();
  for (const s of data.streams || []) {
    const tr = document.createElement('tr');
    const cells = [s.id, (s.codecs || []).join(' + '), s.online ? '在线 online' : '离线 offline',
      String(s.readers ?? 0), s.bitrate ? (s.bitrate / 1000).toFixed(0) + ' kb/s' : '-'];
    for (const c of cells) { const td = document.createElement('td'); td.textContent = c; tr.append(td); }
    tr.children[2].className = s.online ? 'online' : 'offline';
    const td = document.createElement('td');
    const b = document.createElement('button');
    b.textContent = '观看 Watch';
    b.dataset.stream = s.id;
    b.onclick = () => watch(s.id);
    td.append(b); tr.append(td); rows.append(tr);
  }
}

async function watch(id) {
  if (session) session.close();
  $('#player').hidden = false;
  $('#player-title').textContent = id;
  try {
    session = await whepPlay($('#video'), '/whep/' + id, token);
  } catch (e) {
    $('#player-stats').textContent = '播放失败 ' + e.message;
  }
}

setInterval(async () => {
  if (!session) return;
  const s = await session.stats();
  $('#player-stats').textContent = `帧 frames ${s.framesDecoded} · ${s.fps ?? 0} fps · ${Math.round(s.kbps)} kb/s`;
}, 1000);

$('#login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const r = await api('POST', '/api/v1/auth/login', { username: f.get('username'), password: f.get('password') });
    token = r.token;
    sessionStorage.setItem('pingan.token', token);
    $('#login-error').textContent = '';
    show();
  } catch (e) { $('#login-error').textContent = e.message; }
});
$('#logout').onclick = async () => { try { await api('POST', '/api/v1/auth/logout'); } catch (e) { /* already gone */ } signOut(); };
window.pingan = { watch, listStreams };
show();
