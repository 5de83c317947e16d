package signaling

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pingan/internal/browsertest"
	"pingan/media/room"
)

// roomPublishJS joins a room over /ws and publishes the fake camera and
// microphone (H.264 preferred) the way a console page does.
const roomPublishJS = `(async () => {
  const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws?access_token=' + encodeURIComponent(%q));
  await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error('ws failed')); });
  const pending = {}; let n = 0;
  ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.id && pending[m.id]) { pending[m.id](m); delete pending[m.id]; } };
  const req = (type, data) => new Promise((res) => { const id = 'r' + (++n); pending[id] = res; ws.send(JSON.stringify({v: 1, type, id, data})); });
  const j = await req('room.join', {room: %q});
  if (j.type !== 'room.joined') throw new Error(JSON.stringify(j));
  const media = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 360}, audio: true});
  const pc = new RTCPeerConnection();
  const vt = pc.addTransceiver(media.getVideoTracks()[0], {direction: 'sendonly'});
  pc.addTransceiver(media.getAudioTracks()[0], {direction: 'sendonly'});
  const h264 = RTCRtpSender.getCapabilities('video').codecs.filter(c => c.mimeType === 'video/H264');
  if (!h264.length) throw new Error('this browser cannot send H.264');
  vt.setCodecPreferences(h264);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(r => { if (pc.iceGatheringState === 'complete') return r(); pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); }; setTimeout(r, 3000); });
  const p = await req('room.publish', {sdp: pc.localDescription.sdp});
  if (p.type !== 'room.published') throw new Error(JSON.stringify(p));
  await pc.setRemoteDescription({type: 'answer', sdp: p.data.sdp});
  window.__room = {pc, ws, id: j.data.participant};
  return j.data.participant;
})()`

// TestRoomChromiumPublishes: headless Chromium with a fake camera joins a
// meeting over the WebSocket and publishes; a pion member receives its video.
func TestRoomChromiumPublishes(t *testing.T) {
	e := newRoomsEnv(t)
	var r room.Info
	e.call(t, "POST", "/api/v1/rooms", "leader", map[string]string{"kind": "meeting", "name": "browser"}, &r)
	token := e.invite(t, r.ID, "browser guest")
	member := joinWS(t, e, "leader", r.ID, false)

	b := browsertest.Start(t, browsertest.Options{FakeMedia: true})
	p := b.NewPage()
	p.Do(20*time.Second, chromedp.Navigate(e.srv.URL+"/blank"))
	id := browsertest.Eval[string](p, fmt.Sprintf(roomPublishJS, token, r.ID))
	defer func() {
		if t.Failed() {
			for _, in := range e.hub.Streams() {
				t.Logf("stream %+v", in)
			}
			if rm, ok := e.rooms.Get(r.ID); ok {
				for _, pi := range rm.Info().Participants {
					if pp, ok := rm.Participant(pi.ID); ok {
						if sub := pp.Subscriber(); sub != nil {
							t.Logf("participant %s subscriber %+v", pi.Name, sub.Stats())
						}
					}
				}
			}
		}
	}()
	roomWait(t, 20*time.Second, "the pion member receives the browser's video", func() bool { return member.framesOf(id) > 30 })
	t.Logf("pion member received %d frames from Chromium participant %s", member.framesOf(id), id)
}
