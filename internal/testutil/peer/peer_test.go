package peer

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	pwebrtc "github.com/pion/webrtc/v4"
)

// newPC is a PeerConnection closed when the test ends.
func newPC(t testing.TB, o APIOptions) *pwebrtc.PeerConnection {
	t.Helper()
	api, err := NewAPI(o)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

type counts struct{ video, audio, frames atomic.Uint64 }

// A publisher made of AddTracks + Pump reaches a pion receiver on
// loopback: H.264 frames and audio under the publisher's stream label,
// with the edit hooks applied.
func TestPublishToReceiver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub := newPC(t, APIOptions{AudioLevel: true, Quiet: true, LoopbackOnly: true, UDP4Only: true})
	sub := newPC(t, APIOptions{NoInterceptors: true, Quiet: true, LoopbackOnly: true})

	tracks, err := AddTracks(pub, "a", "v", "cam1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tracks.Video) != 1 || tracks.Audio == nil || len(pub.GetTransceivers()) != 2 {
		t.Fatalf("tracks %+v, %d transceivers", tracks, len(pub.GetTransceivers()))
	}
	DrainRTCP(pub)
	var recv ByLabel[counts]
	sub.OnTrack(func(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
		c := recv.Get(tr.StreamID())
		if tr.Kind() == pwebrtc.RTPCodecTypeAudio {
			c.audio.Add(1)
			Discard(tr)
			return
		}
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			c.video.Add(1)
			if p.Marker {
				c.frames.Add(1)
			}
			if len(p.Payload) == 0 {
				t.Errorf("empty video packet")
			}
		}
	})
	offer, err := Offer(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offer, "a=candidate") || !strings.Contains(offer, "a=sendonly") {
		t.Fatalf("offer lacks gathered candidates or sendonly:\n%s", offer)
	}
	answer, err := Answer(sub, offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	var edited atomic.Uint64
	go func() {
		_ = Pump{Tracks: tracks, Filler: []byte{12, 0xff, 0xff},
			EditVideo: func(tr *pwebrtc.TrackLocalStaticRTP, p *rtp.Packet) {
				if tr != tracks.Video[0] {
					t.Errorf("edit for another track")
				}
				edited.Add(1)
			},
		}.Run(ctx)
	}()
	for !(recv.Get("cam1").frames.Load() >= 10 && recv.Get("cam1").audio.Load() > 0) {
		select {
		case <-ctx.Done():
			t.Fatalf("received %d frames, audio %v", recv.Get("cam1").frames.Load(), recv.Get("cam1").audio.Load() > 0)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if edited.Load() == 0 {
		t.Error("EditVideo never ran")
	}
	if all := recv.All(); len(all) != 1 {
		t.Errorf("labels %v, want cam1 only", all)
	}
}

// Simulcast: one H.264 track per rid, all encodings of one sender.
func TestAddTracksSimulcast(t *testing.T) {
	pc := newPC(t, APIOptions{})
	tr, err := AddTracks(pc, "a", "v", "s", []string{"q", "h", "f"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Video) != 3 || tr.Video[2].RID() != "f" || len(pc.GetTransceivers()) != 2 {
		t.Fatalf("%d video tracks, %d transceivers", len(tr.Video), len(pc.GetTransceivers()))
	}
	offer, err := Offer(pc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offer, "a=simulcast:send q;h;f") {
		t.Errorf("offer without the simulcast line:\n%s", offer)
	}
}

func pionOffer(t testing.TB) string {
	t.Helper()
	pc := newPC(t, APIOptions{LoopbackOnly: true})
	if _, err := AddTracks(pc, "a", "v", "x", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := Offer(pc)
	if err != nil {
		t.Fatal(err)
	}
	return offer
}

func TestOBSOffer(t *testing.T) {
	in := pionOffer(t)
	out, err := OBSOffer(in, "obs-stream")
	if err != nil {
		t.Fatal(err)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(out); err != nil {
		t.Fatalf("OBS offer does not parse: %v\n%s", err, out)
	}
	if len(d.MediaDescriptions) != 2 || d.MediaDescriptions[0].MediaName.Media != "audio" || d.MediaDescriptions[1].MediaName.Media != "video" {
		t.Fatalf("m-lines %v", d.MediaDescriptions)
	}
	for _, want := range []string{"a=msid:obs-stream obs-video", "a=rtpmap:96 H264/90000", "a=rtpmap:111 opus/48000/2", "a=candidate:", "a=fingerprint:sha-256 "} {
		if !strings.Contains(out, want) {
			t.Errorf("OBS offer lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "extmap") {
		t.Errorf("OBS offer with header extensions:\n%s", out)
	}
	for _, bad := range []string{"", "v=0\r\n", strings.Replace(in, "a=ssrc:", "a=x-ssrc:", -1)} {
		if _, err := OBSOffer(bad, "obs"); err == nil {
			t.Errorf("OBSOffer accepted %.40q", bad)
		}
	}
}

func FuzzOBSOffer(f *testing.F) {
	f.Add(pionOffer(f))
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc:1 cname:x\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ssrc:2 cname:x\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		out, err := OBSOffer(in, "obs")
		if err != nil {
			return
		}
		if !strings.HasPrefix(out, "v=0\r\n") || strings.Count(out, "m=") != 2 {
			t.Errorf("OBS offer shape:\n%s", out)
		}
	})
}
