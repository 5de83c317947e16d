// Player keeps one <video> playing one hub stream over WHEP: it starts at
// once (no artificial delay), reconnects with exponential backoff when the
// session fails, disconnects or stalls, and samples getStats for overlays.
import { whep, videoStats } from './webrtc.js';
import { getToken, encPath } from './api.js';

const MIN_BACKOFF = 1000;
const MAX_BACKOFF = 30000;
const STALL_MS = 12000;      // no new frame for this long while connected → reconnect
const FIRST_FRAME_MS = 20000; // connected but never a frame → reconnect
const STABLE_MS = 10000;     // playing this long resets the backoff

// canDecodeH264 reports whether the browser's WebRTC stack receives H.264,
// what cameras send (the hub never transcodes). Firefox has it only with
// the OpenH264 plugin it downloads from the internet.
export function canDecodeH264() {
  try {
    const caps = RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities('video');
    return !caps || caps.codecs.some((c) => c.mimeType.toLowerCase() === 'video/h264');
  } catch { return true; }
}

// videoRejected: the hub answered but turned the video section down (port
// 0): the browser offered no codec this stream is in. (When no track at
// all fits, the hub answers 400 no_compatible_tracks instead.)
function videoRejected(pc) {
  const sdp = (pc.remoteDescription && pc.remoteDescription.sdp) || '';
  return /^m=video 0 /m.test(sdp);
}

export class Player {
  constructor(video, streamId, { onState } = {}) {
    this.video = video;
    this.stream = streamId;
    this.onState = onState || (() => {});
    this.state = 'idle';
    this.error = '';
    this.session = null;
    this.backoff = MIN_BACKOFF;
    this.retryAt = 0;
    this.attempts = 0;
    this.last = null;        // last stats sample
    this.lastFrameAt = 0;
    this.connectedAt = 0;
    this.stopped = false;
    this.timers = new Set();
    this.abort = null;
    this.watch = setInterval(() => this.sample(), 1000);
  }

  set(state, error = '') {
    this.state = state;
    this.error = error;
    this.onState(this);
  }

  later(fn, ms) {
    const id = setTimeout(() => { this.timers.delete(id); fn(); }, ms);
    this.timers.add(id);
  }

  async start() {
    if (this.stopped) return;
    this.attempts++;
    this.set('connecting');
    this.abort = new AbortController();
    const video = this.video;
    try {
      const s = await whep('/whep/' + encPath(this.stream), getToken(), {
        signal: this.abort.signal,
        onTrack: (ms) => {
          if (video.srcObject !== ms) video.srcObject = ms;
          video.play().catch(() => {});
        },
      });
      if (this.stopped) { s.close(); return; }
      if (videoRejected(s.pc)) {
        // No common video codec: retrying cannot help, so say why.
        s.close();
        this.set('error', canDecodeH264() ? 'no_codec' : 'no_h264');
        return;
      }
      this.session = s;
      this.connectedAt = performance.now();
      this.lastFrameAt = 0;
      this.last = null;
      const pc = s.pc;
      let discTimer = 0;
      const onConn = () => {
        if (this.session !== s) return;
        const st = pc.connectionState || pc.iceConnectionState;
        if (st === 'failed') this.retry('ice failed');
        else if (st === 'disconnected') {
          clearTimeout(discTimer);
          discTimer = setTimeout(() => {
            if (this.session === s && (pc.connectionState || pc.iceConnectionState) === 'disconnected') this.retry('disconnected');
          }, 3000);
        }
      };
      pc.addEventListener('connectionstatechange', onConn);
      pc.addEventListener('iceconnectionstatechange', onConn);
      if (this.state === 'connecting') this.set('waiting');
    } catch (e) {
      if (this.stopped || e.code === 'aborted') return;
      if (e.status === 401 || e.status === 403) { this.set('error', e.status === 401 ? 'unauthorized' : 'forbidden'); return; }
      if (e.code === 'no_compatible_tracks') { this.set('error', canDecodeH264() ? 'no_codec' : 'no_h264'); return; }
      this.retry(e.status === 404 ? 'not_found' : (e.message || 'error'), e.status === 404);
    }
  }

  // retry closes the session and tries again after the backoff.
  retry(reason, slow = false) {
    if (this.stopped) return;
    this.closeSession();
    const wait = Math.min(MAX_BACKOFF, this.backoff * (slow ? 2 : 1)) * (0.85 + Math.random() * 0.3);
    this.backoff = Math.min(MAX_BACKOFF, this.backoff * 2);
    this.retryAt = Date.now() + wait;
    this.set('retrying', reason);
    this.later(() => this.start(), wait);
  }

  // reconnect now (user asked), with a fresh backoff.
  reconnect() {
    this.backoff = MIN_BACKOFF;
    for (const id of this.timers) clearTimeout(id);
    this.timers.clear();
    this.closeSession();
    this.start();
  }

  closeSession() {
    if (this.abort) this.abort.abort();
    if (this.session) { this.session.close(); this.session = null; }
  }

  async sample() {
    if (!this.session) return;
    const s = await videoStats(this.session.pc, this.last);
    const now = performance.now();
    if (!this.last || s.framesDecoded > this.last.framesDecoded) {
      if (s.framesDecoded > 0) {
        this.lastFrameAt = now;
        if (this.state !== 'playing') this.set('playing');
        if (now - this.connectedAt > STABLE_MS) this.backoff = MIN_BACKOFF;
      }
    }
    this.last = s;
    this.onState(this);
    if (this.state === 'playing' && this.lastFrameAt && now - this.lastFrameAt > STALL_MS) this.retry('stalled');
    else if (!this.lastFrameAt && now - this.connectedAt > FIRST_FRAME_MS) this.retry('no video');
  }

  stats() {
    const s = this.last || { framesDecoded: 0, fps: 0, kbps: 0 };
    return { framesDecoded: s.framesDecoded, fps: Math.round(s.fps * 10) / 10, kbps: Math.round(s.kbps),
      width: s.width || 0, height: s.height || 0, codec: s.codec || '', state: this.state };
  }

  // freshStats samples now (tests poll this).
  async freshStats() {
    if (this.session) await this.sample();
    return this.stats();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.watch);
    for (const id of this.timers) clearTimeout(id);
    this.timers.clear();
    this.closeSession();
    this.video.srcObject = null;
    this.set('stopped');
  }
}
