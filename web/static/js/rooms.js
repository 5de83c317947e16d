// Rooms (meetings and classes) from the browser: the rooms API over HTTP,
// and membership, media and events over the console's WebSocket ("room."
// messages, docs/signaling.md): room.publish for camera/microphone/screen,
// the server-offered subscriber PeerConnection for everyone else.
import { get, post, del, unavailable } from './api.js';
import { gathered } from './webrtc.js';
import { send, request, onMessage, onStatus } from './ws.js';
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

// invite asks the hub for a join link for someone without an account
// (the hub answers {token, url: /meeting/{id}?token=…}).
export async function invite(roomId, name, role) {
  const r = await post(`/api/v1/rooms/${encodeURIComponent(roomId)}/invites`, { name, role });
  const path = r.url || `/meeting/${encodeURIComponent(roomId)}?token=${encodeURIComponent(r.token)}`;
  return { ...r, url: new URL(path, location.origin).toString() };
}

const ICE_WAIT_MS = 1500;

// fingerprint is the DTLS fingerprint of an SDP: a new one means the
// server started a new subscriber PeerConnection.
const fingerprint = (sdp) => ((sdp || '').match(/a=fingerprint:[^\r\n]+/) || [''])[0];

// preferH264 puts H.264 first on a video transceiver: the hub's room
// ingest takes H.264/H.265, not VP8/VP9.
function preferH264(tr) {
  if (!tr.setCodecPreferences || !window.RTCRtpSender || !RTCRtpSender.getCapabilities) return;
  const codecs = (RTCRtpSender.getCapabilities('video') || {}).codecs || [];
  const h264 = codecs.filter((c) => c.mimeType === 'video/H264');
  if (!h264.length) return;
  const rest = codecs.filter((c) => /video\/(rtx|red|ulpfec)/i.test(c.mimeType));
  try { tr.setCodecPreferences([...h264, ...rest]); } catch { tr.setCodecPreferences(h264); }
}

// RoomSession is one member of a room over the console's WebSocket
// (docs/signaling.md, "Rooms"): room.join, one publisher PeerConnection per
// source (room.publish), one subscriber PeerConnection the server offers
// and renegotiates (room.offer / room.answer), and the room's events.
// onTrack(label, mediaStream) / onTrackGone(label) report remote media by
// msid label (participant id, or "{participant}.{source}").
export class RoomSession {
  constructor(id, { onUpdate, onEvent, onTrack, onTrackGone } = {}) {
    this.id = id;
    this.onUpdate = onUpdate || (() => {});
    this.onEvent = onEvent || (() => {});
    this.onTrack = onTrack || (() => {});
    this.onTrackGone = onTrackGone || (() => {});
    this.room = null;
    this.me = '';            // my participant id (room.joined)
    this.role = '';          // my role in the room
    this.pubs = new Map();   // source → {pc, stream, media}
    this.sub = null;         // subscriber RTCPeerConnection
    this.subPrint = '';
    this.remote = new Map(); // label → MediaStream
    this.offers = Promise.resolve();
    this.closed = false;
    this.joined = false;
    this.unsubs = [];
    this.poll = 0;
  }

  async open() {
    this.room = await get('/api/v1/rooms/' + encodeURIComponent(this.id));
    if (this.room.ended) throw Object.assign(new Error(t('room.endedMsg')), { status: 410, code: 'ended' });
    this.onUpdate(this);
    this.unsubs.push(onMessage((m) => this.message(m)));
    await this.join();
    let first = true;
    this.unsubs.push(onStatus((st) => {
      if (first) { first = false; return; }
      if (st === 'on' && this.joined && !this.closed) this.join(this.me).catch((e) => this.failed(e));
    }));
    this.poll = setInterval(() => this.refresh(), 15000);
    return this.room;
  }

  async join(resume) {
    const r = await request('room.join', { room: this.id, ...(resume ? { resume } : {}) });
    const d = r.data || {};
    this.me = d.participant || this.me;
    this.role = d.role || this.role;
    if (d.room) this.room = d.room;
    this.joined = true;
    this.onUpdate(this);
    return d;
  }

  failed(e) {
    if (this.closed) return;
    if (e && (e.code === 'ended' || e.code === 'removed' || e.code === 'not_found')) this.onEvent({ type: e.code === 'removed' ? 'removed' : 'ended' });
    else console.warn('room', e && e.message);
  }

  async refresh() {
    if (this.closed) return;
    try {
      this.room = await get('/api/v1/rooms/' + encodeURIComponent(this.id));
      this.onUpdate(this);
      if (this.room.ended) this.onEvent({ type: 'ended' });
    } catch (e) {
      if (e.status === 404 || e.status === 410) { this.room = { ...(this.room || {}), ended: new Date().toISOString() }; this.onUpdate(this); this.onEvent({ type: 'ended' }); }
    }
  }

  upsert(p, gone) {
    if (!this.room || !p) return;
    const list = (this.room.participants || []).filter((x) => x.id !== p.id);
    if (!gone) {
      const i = (this.room.participants || []).findIndex((x) => x.id === p.id);
      list.splice(i < 0 ? list.length : i, 0, p);
    }
    this.room = { ...this.room, participants: list };
  }

  message(m) {
    const type = String(m.type || '');
    if (!type.startsWith('room.') || m.id) return; // replies are handled by request()
    const ev = { ...(m.data || {}), type: type.slice(5) };
    if (ev.room && ev.room !== this.id) return;
    if (this.closed) return;
    switch (ev.type) {
      case 'offer': this.offers = this.offers.then(() => this.answer(ev.sdp)).catch((e) => console.warn('room offer', e && e.message)); return;
      case 'participant.joined': case 'participant.updated': this.upsert(ev.participant); break;
      case 'participant.left': this.upsert(ev.participant, true); break;
      case 'hand': if (ev.from) { const p = this.participants().find((x) => x.id === ev.from); if (p) this.upsert({ ...p, hand: !!ev.value }); } break;
      case 'ended': if (this.room) this.room = { ...this.room, ended: ev.time || new Date().toISOString() }; break;
      default:
    }
    this.onEvent(ev);
    if (/^participant\.|^hand$|^ended$/.test(ev.type)) this.onUpdate(this);
  }

  // answer applies a server offer to the subscriber PeerConnection (a new
  // one when the server started over) and sends room.answer.
  async answer(sdp) {
    if (this.closed || !sdp) return;
    const print = fingerprint(sdp);
    if (this.sub && print !== this.subPrint) this.dropSubscriber();
    if (!this.sub) {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      pc.ontrack = (ev) => this.track(ev);
      // Candidates found after the answer went out are trickled.
      pc.onicecandidate = (ev) => {
        if (pc.answered && ev.candidate && ev.candidate.candidate) request('room.ice', { candidate: ev.candidate.toJSON() }).catch(() => {});
      };
      this.sub = pc;
      this.subPrint = print;
    }
    const pc = this.sub;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc, ICE_WAIT_MS);
    if (this.sub !== pc || this.closed) return;
    await request('room.answer', { sdp: pc.localDescription.sdp });
    pc.answered = true;
    this.prune();
  }

  track(ev) {
    const ms = ev.streams && ev.streams[0];
    const label = ms ? ms.id : ev.track.id;
    let stream = this.remote.get(label);
    if (!stream) {
      stream = ms || new MediaStream();
      this.remote.set(label, stream);
      stream.addEventListener('removetrack', () => { if (!stream.getTracks().length) this.gone(label); });
    }
    if (!stream.getTracks().includes(ev.track)) stream.addTrack(ev.track);
    ev.track.addEventListener('ended', () => this.prune());
    this.onTrack(label, stream);
  }

  // prune forgets remote streams whose tracks the server took away.
  prune() {
    if (!this.sub) return;
    const live = new Set(this.sub.getTransceivers()
      .filter((tr) => !tr.stopped && tr.receiver && tr.receiver.track && tr.receiver.track.readyState === 'live' && /recv/.test(tr.currentDirection || tr.direction || ''))
      .map((tr) => tr.receiver.track));
    for (const [label, stream] of this.remote) {
      if (!stream.getTracks().some((tr) => live.has(tr))) this.gone(label);
    }
  }

  gone(label) {
    if (!this.remote.has(label)) return;
    this.remote.delete(label);
    this.onTrackGone(label);
  }

  dropSubscriber() {
    if (this.sub) this.sub.close();
    this.sub = null;
    for (const label of [...this.remote.keys()]) this.gone(label);
  }

  // streamOf maps a received msid label to the hub stream it carries.
  streamOf(label) {
    for (const p of this.participants()) {
      const i = (p.labels || []).indexOf(label);
      if (i >= 0 && p.streams[i]) return { stream: p.streams[i], participant: p };
    }
    const [pid, source] = label.split('.');
    const p = this.participants().find((x) => x.id === pid);
    return { stream: `room/${this.id}/${pid}${source ? '/' + source : ''}`, participant: p || { id: pid, name: pid } };
  }

  // receiverStats sums framesDecoded of the inbound video of label.
  async framesDecoded(label) {
    const stream = this.remote.get(label);
    if (!this.sub || !stream) return 0;
    let frames = 0;
    for (const r of this.sub.getReceivers()) {
      if (!r.track || r.track.kind !== 'video' || !stream.getTracks().includes(r.track)) continue;
      try {
        (await r.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0; });
      } catch { /* closed */ }
    }
    return frames;
  }

  // publish sends a local MediaStream into the room as source ("camera",
  // "screen"): its own PeerConnection, offered with room.publish.
  async publish(stream, source = 'camera') {
    this.unpublish(source, true);
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    const entry = { pc, media: stream, stream: '' };
    this.pubs.set(source, entry);
    try {
      for (const track of stream.getTracks()) {
        const tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
        if (track.kind === 'video') preferH264(tr);
      }
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, ICE_WAIT_MS);
      const r = await request('room.publish', { sdp: pc.localDescription.sdp, source });
      if (this.pubs.get(source) !== entry) throw new Error('replaced');
      await pc.setRemoteDescription({ type: 'answer', sdp: r.data.sdp });
      entry.stream = r.data.stream || '';
      return entry;
    } catch (e) {
      if (this.pubs.get(source) === entry) this.pubs.delete(source);
      pc.close();
      throw e;
    }
  }

  unpublish(source = 'camera', quiet = false) {
    const p = this.pubs.get(source);
    if (!p) return;
    this.pubs.delete(source);
    if (!quiet && !this.closed) request('room.unpublish', { source }).catch(() => {});
    p.pc.close();
  }

  get pub() { return this.pubs.get('camera') || null; }

  participants() { return (this.room && this.room.participants) || []; }

  isMe(p) { return !!p && p.id === this.me; }

  async call(type, data) {
    try { await request(type, data); return true; } catch (e) { toast(e.message, 'warn'); return false; }
  }

  chat(text) { return this.call('room.chat', { text }); }
  hand(raised) { return this.call('room.hand', { raised }); }
  mute(kind, muted) { return this.call(muted ? 'room.mute' : 'room.unmute', { kind }); }
  hostMute(participant, kind) { return this.call('room.host.mute', { participant, kind }); }
  hostRemove(participant) { return this.call('room.host.remove', { participant }); }
  hostFloor(participant, granted) { return this.call('room.host.floor', { participant, granted }); }
  hostCamera(stream, name) { return this.call('room.host.camera', { stream, ...(name ? { name } : {}) }); }

  async end() {
    try { await del('/api/v1/rooms/' + encodeURIComponent(this.id)); return true; } catch (e) { toast(e.message, 'error'); return false; }
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poll);
    if (this.joined) send({ type: 'room.leave' });
    for (const p of this.pubs.values()) p.pc.close();
    this.pubs.clear();
    if (this.sub) this.sub.close();
    this.sub = null;
    this.remote.clear();
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
