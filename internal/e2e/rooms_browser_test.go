package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/ice/v4"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/browsertest"
)

// roomPublishJS joins a room over /ws with a join token and publishes the
// fake camera and microphone (H.264), as the console's room page does.
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
  vt.setCodecPreferences(RTCRtpSender.getCapabilities('video').codecs.filter(c => c.mimeType === 'video/H264'));
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(r => { if (pc.iceGatheringState === 'complete') return r(); pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); }; setTimeout(r, 3000); });
  const p = await req('room.publish', {sdp: pc.localDescription.sdp});
  if (p.type !== 'room.published') throw new Error(JSON.stringify(p));
  await pc.setRemoteDescription({type: 'answer', sdp: p.data.sdp});
  window.__room = {pc, ws};
  return p.data.stream;
})()`

// TestChromiumJoinsMeeting: a leader creates a meeting and invites a
// party; headless Chromium with fake devices joins with the invite's
// token and publishes; a pion peer (the leader, over WHEP of the room
// stream) receives its video.
func TestChromiumJoinsMeeting(t *testing.T) {
	h := startHub(t, false, nil)
	var r struct{ ID string }
	if code := h.call("POST", "/api/v1/rooms", h.admin, map[string]string{"kind": "meeting", "name": "调解"}, &r); code != 201 {
		t.Fatalf("POST /api/v1/rooms: %d", code)
	}
	var inv struct{ Token string }
	if code := h.call("POST", "/api/v1/rooms/"+r.ID+"/invites", h.admin, map[string]any{"name": "当事人", "ttl": "10m"}, &inv); code != 201 {
		t.Fatalf("invite: %d", code)
	}
	b := browsertest.Start(t, browsertest.Options{FakeMedia: true})
	p := b.NewPage()
	p.Do(20*time.Second, chromedp.Navigate(h.base+"/"))
	stream := browsertest.Eval[string](p, fmt.Sprintf(roomPublishJS, inv.Token, r.ID))
	if !strings.HasPrefix(stream, "room/"+r.ID+"/") {
		t.Fatalf("published stream %q", stream)
	}

	se := pwebrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	m := &pwebrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := pwebrtc.NewAPI(pwebrtc.WithSettingEngine(se), pwebrtc.WithMediaEngine(m)).NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var frames atomic.Uint64
	pc.OnTrack(func(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
		for {
			pk, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if tr.Kind() == pwebrtc.RTPCodecTypeVideo && pk.Marker {
				frames.Add(1)
			}
		}
	})
	for _, k := range []pwebrtc.RTPCodecType{pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, _ := pc.CreateOffer(nil)
	done := pwebrtc.GatheringCompletePromise(pc)
	_ = pc.SetLocalDescription(offer)
	<-done
	var answer string
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequest("POST", h.base+"/whep/"+stream, strings.NewReader(pc.LocalDescription().SDP))
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Authorization", "Bearer "+h.admin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 201 {
			answer = string(body)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("whep %s: %d %s", stream, res.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for frames.Load() < 30 {
		if time.Now().After(deadline) {
			t.Fatalf("pion received %d frames of the browser's video", frames.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
	var info struct {
		Participants []struct{ Name string }
	}
	h.call("GET", "/api/v1/rooms/"+r.ID, h.admin, nil, &info)
	if len(info.Participants) != 1 || info.Participants[0].Name != "当事人" {
		t.Errorf("participants %+v", info.Participants)
	}
	p.Screenshot("room-chromium-publisher")
}
