// Rooms (meetings and classes) from the browser: the rooms API, WHIP to
// publish camera/microphone/screen into a room, WHEP to receive each other
// participant's streams (room/{id}/{participant}), and room messages over
// the console's WebSocket (chat, raise hand, participant updates) when the
// hub supports them. Every call degrades quietly when the API is missing.
import { get, post, del, getToken, encPath, unavailable } from './api.js';
import { whip, whep } from './webrtc.js';
import { send, onMessage, subscribe } from './ws.js';
import { toast } from './dom.js';
import { t } from './i18n.js';

export async function startMeeting(body) {
  try {
    return await post('/api/v1/rooms', body);
  } catch (e) {
    toast(unavailable(e) ? t('room.unavailable') : e.message, unavailable(e) ? 'warn' : 'error');
    return null;
  }
}

export async function listRooms() {
  const r = await get('/api/v1/rooms');
  return r.rooms || [];
}

// invite asks the hub for a join link for someone without an account.
export async function invite(roomId, name, role) {
  const r = await post(`/api/v1/rooms/${encodeURIComponent(roomId)}/invites`, { name, role });
  const url = r.url || `${location.origin}/${r.kind === 'class' ? 'class' : 'meeting'}/${encodeURIComponent(roomId)}?token=${encodeURIComponent(r.token)}&name=${encodeURIComponent(name)}`;
  return { ...r, url };
}

export class RoomSession {
  constructor(id, { onUpdate, onEvent } = {}) {
    this.id = id;
    this.onUpdate = onUpdate || (() => {});
    this.onEvent = onEvent || (() => {});
    this.room = null;
    this.me = '';            // my participant id when the hub tells us
    this.pub = null;         // WHIP session
    this.peers = new Map();  // stream id → {session, media}
    this.closed = false;
    this.unsubs = [];
    this.poll = 0;
  }

  async open() {
    this.room = await get('/api/v1/rooms/' + encodeURIComponent(this.id));
    this.unsubs.push(onMessage((m) => this.message(m)));
    this.unsubs.push(subscribe('room:' + this.id, (ev) => this.message({ type: 'room.event', event: ev }), () => this.refresh()));
    send({ type: 'room.join', room: this.id });
    this.poll = setInterval(() => this.refresh(), 3000);
    this.onUpdate(this);
    return this.room;
  }

  async refresh() {
    if (this.closed) return;
    try {
      this.room = await get('/api/v1/rooms/' + encodeURIComponent(this.id));
      this.onUpdate(this);
    } catch (e) {
      if (e.status === 404 || e.status === 410) { this.room = { ...(this.room || {}), ended: new Date().toISOString() }; this.onUpdate(this); }
    }
  }

  message(m) {
    const ev = m.event || m.data || m;
    if (!ev || (ev.room && ev.room !== this.id)) return;
    if (!String(m.type || '').startsWith('room') && m.type !== 'event') return;
    this.onEvent(ev);
    if (/participant\.|ended|floor|removed/.test(ev.type || '')) this.refresh();
  }

  // publish sends a local MediaStream into the room over WHIP.
  async publish(stream) {
    this.unpublish();
    this.pub = await whip('/whip/room/' + encodeURIComponent(this.id), getToken(), stream);
    const hdr = this.pub.headers.get('X-Participant-Id') || this.pub.headers.get('X-Participant');
    this.me = hdr || decodeURIComponent((this.pub.location || '').split('/').filter(Boolean).pop() || '');
    return this.pub;
  }

  unpublish() { if (this.pub) { this.pub.close(); this.pub = null; } }

  participants() { return (this.room && this.room.participants) || []; }

  isMe(p) { return !!p && (p.id === this.me || (this.pub && (p.streams || []).some((s) => this.pub.location.includes(s)))); }

  // watch keeps one WHEP session per remote stream in want (a list of
  // {stream, participant}); onMedia(stream, mediaStream) shows it.
  sync(want, onMedia, onGone) {
    const keep = new Set(want.map((w) => w.stream));
    for (const [s, p] of this.peers) {
      if (!keep.has(s)) { p.session && p.session.close(); this.peers.delete(s); onGone(s); }
    }
    for (const w of want) {
      if (this.peers.has(w.stream)) continue;
      const entry = { session: null };
      this.peers.set(w.stream, entry);
      whep('/whep/' + encPath(w.stream), getToken(), { onTrack: (ms) => onMedia(w.stream, ms, w.participant) })
        .then((s) => { if (this.peers.get(w.stream) === entry && !this.closed) entry.session = s; else s.close(); })
        .catch(() => { if (this.peers.get(w.stream) === entry) setTimeout(() => this.peers.delete(w.stream), 3000); });
    }
  }

  chat(text) { return send({ type: 'room.chat', room: this.id, data: { text } }); }
  hand(up) { return send({ type: 'room.hand', room: this.id, data: { value: up } }); }
  host(action, participant, value) { return send({ type: 'room.' + action, room: this.id, data: { participant, value } }); }

  async end() {
    try { await del('/api/v1/rooms/' + encodeURIComponent(this.id)); } catch (e) { toast(e.message, 'error'); }
  }

  close() {
    this.closed = true;
    clearInterval(this.poll);
    send({ type: 'room.leave', room: this.id });
    this.unpublish();
    for (const p of this.peers.values()) if (p.session) p.session.close();
    this.peers.clear();
    for (const u of this.unsubs) u();
  }
}

// localMedia asks for camera and microphone; it resolves with null and a
// reason instead of throwing when the user or the browser says no.
export async function localMedia({ video = true, audio = true } = {}) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return { stream: null, error: t('room.insecure') };
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ video: video ? { width: { ideal: 1280 }, height: { ideal: 720 } } : false, audio }), error: '' };
  } catch (e) {
    return { stream: null, error: e && e.name === 'NotAllowedError' ? t('room.denied') : t('room.noDevice', { e: e && e.message }) };
  }
}

export async function screenMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) return null;
  try { return await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }); } catch { return null; }
}
