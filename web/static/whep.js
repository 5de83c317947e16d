// WHEP playback (RFC 9725 style): POST an SDP offer, apply the answer,
// DELETE the session resource when done. Reconnects on failure.
export async function whepPlay(video, url, token) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const stream = new MediaStream();
  pc.ontrack = (ev) => { stream.addTrack(ev.track); video.srcObject = stream; };
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await gatheringDone(pc, 1000);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + token },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) {
    pc.close();
    let msg = res.statusText;
    try { msg = (await res.json()).error.message; } catch (e) { /* not JSON */ }
    throw new Error(`${res.status} ${msg}`);
  }
  const location = new URL(res.headers.get('Location'), window.location.href).toString();
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  let last = { t: performance.now(), bytes: 0, frames: 0 };
  return {
    pc,
    async stats() {
      const report = await pc.getStats();
      let out = { framesDecoded: 0, bytes: 0, fps: 0, kbps: 0 };
      report.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          out.framesDecoded = s.framesDecoded || 0;
          out.bytes = s.bytesReceived || 0;
          out.fps = s.framesPerSecond || 0;
        }
      });
      const now = performance.now();
      out.kbps = ((out.bytes - last.bytes) * 8) / Math.max(1, now - last.t);
      last = { t: now, bytes: out.bytes, frames: out.framesDecoded };
      return out;
    },
    close() {
      fetch(location, { method: 'DELETE', headers: { Authorization: 'Bearer ' + token } }).catch(() => {});
      pc.close();
    },
  };
}

function gatheringDone(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, timeoutMs);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
    });
  });
}
