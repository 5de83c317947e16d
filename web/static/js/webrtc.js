// WHEP (play) and WHIP (publish) over HTTP, RFC 9725 style: POST an SDP
// offer with a Bearer token, apply the 201 answer, DELETE the Location
// when done. Non-trickle: the offer carries the candidates gathered within
// a short window (host candidates on a LAN come in a few milliseconds).
import { ApiError } from './api.js';

const GATHER_MS = 400;

export function gathered(pc, ms = GATHER_MS) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); pc.removeEventListener('icegatheringstatechange', check); resolve(); };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, ms);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

async function exchange(pc, url, token, signal) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await gathered(pc);
  let res;
  try {
    res = await fetch(url, {
      method: 'POST', signal,
      headers: { 'Content-Type': 'application/sdp', ...(token ? { Authorization: 'Bearer ' + token } : {}) },
      body: pc.localDescription.sdp,
    });
  } catch (e) {
    throw new ApiError(0, e && e.name === 'AbortError' ? 'aborted' : 'network', String(e && e.message || e));
  }
  const ct = res.headers.get('Content-Type') || '';
  if (res.status !== 201 && res.status !== 200 || ct.includes('text/html') || ct.includes('application/json')) {
    let code = 'http_' + res.status;
    let msg = res.statusText;
    try { const e = (await res.json()).error; code = e.code || code; msg = e.message || msg; } catch { /* not JSON */ }
    throw new ApiError(res.status === 200 ? 404 : res.status, code, `${res.status} ${msg}`);
  }
  const loc = res.headers.get('Location');
  const answer = await res.text();
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  return { location: loc ? new URL(loc, location.href).toString() : '', headers: res.headers };
}

function closer(pc, loc, token) {
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    if (loc) fetch(loc, { method: 'DELETE', headers: token ? { Authorization: 'Bearer ' + token } : {} }).catch(() => {});
    pc.close();
  };
}

// whep plays url; onTrack gets the MediaStream as soon as a track arrives.
export async function whep(url, token, { onTrack, signal } = {}) {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const stream = new MediaStream();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.ontrack = (ev) => {
    if (!stream.getTracks().includes(ev.track)) stream.addTrack(ev.track);
    if (onTrack) onTrack(stream);
  };
  try {
    const { location: loc, headers } = await exchange(pc, url, token, signal);
    return { pc, stream, location: loc, headers, close: closer(pc, loc, token) };
  } catch (e) {
    pc.close();
    throw e;
  }
}

// whip publishes the tracks of stream (camera, microphone, screen) to url.
export async function whip(url, token, stream, { signal } = {}) {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  try {
    const { location: loc, headers } = await exchange(pc, url, token, signal);
    return { pc, location: loc, headers, close: closer(pc, loc, token) };
  } catch (e) {
    pc.close();
    throw e;
  }
}

// videoStats reads the inbound video numbers of pc; prev is the previous
// sample (for kbps and a frame-count based fps where the browser has none).
export async function videoStats(pc, prev) {
  const out = { framesDecoded: 0, bytes: 0, fps: 0, kbps: 0, width: 0, height: 0, codec: '', packetsLost: 0, t: performance.now() };
  if (!pc) return out;
  let report;
  try { report = await pc.getStats(); } catch { return out; }
  const codecs = {};
  report.forEach((s) => { if (s.type === 'codec') codecs[s.id] = s.mimeType; });
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      out.framesDecoded = s.framesDecoded || 0;
      out.bytes = s.bytesReceived || 0;
      out.fps = s.framesPerSecond || 0;
      out.width = s.frameWidth || 0;
      out.height = s.frameHeight || 0;
      out.packetsLost = s.packetsLost || 0;
      out.codec = (codecs[s.codecId] || '').replace('video/', '');
    }
  });
  if (prev && prev.t && out.t > prev.t) {
    const dt = (out.t - prev.t) / 1000;
    out.kbps = Math.max(0, ((out.bytes - prev.bytes) * 8) / 1000 / dt);
    if (!out.fps) out.fps = Math.max(0, (out.framesDecoded - prev.framesDecoded) / dt);
  }
  return out;
}
