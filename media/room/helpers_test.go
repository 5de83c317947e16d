package room

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/sample"
	"pingan/internal/testutil/peer"
	"pingan/media"
	"pingan/media/webrtc"
)

// env is a media hub, a WebRTC engine and a room manager.
type env struct {
	hub *media.Hub
	eng *webrtc.Engine
	m   *Manager
}

func newEnv(t testing.TB, edit func(*Config)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hub := media.NewHub(media.Config{ReadyTimeout: 5 * time.Second})
	hubDone := make(chan struct{})
	go func() { _ = hub.Run(ctx); close(hubDone) }()
	eng, err := webrtc.NewEngine(webrtc.Config{UDPPort: -1, TCPPort: -1, IncludeLoopback: true})
	must(t, err)
	cfg := Config{Streams: hub, Engine: eng, LayerInterval: 200 * time.Millisecond, SpeakerInterval: 200 * time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	m, err := NewManager(cfg)
	must(t, err)
	mDone := make(chan struct{})
	go func() { _ = m.Run(ctx); close(mDone) }()
	t.Cleanup(func() {
		cancel()
		<-mDone
		_ = eng.Close()
		<-hubDone
	})
	return &env{hub: hub, eng: eng, m: m}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func clientAPI(t testing.TB) *pwebrtc.API {
	t.Helper()
	a, err := peer.NewAPI(peer.APIOptions{AudioLevel: true})
	must(t, err)
	return a
}

// client is a pion room participant: it answers subscriber offers, counts
// what it receives per msid label, and can publish the sample.
type client struct {
	t      testing.TB
	p      *Participant
	sub    *pwebrtc.PeerConnection
	pubs   []*pwebrtc.PeerConnection
	recv   peer.ByLabel[counters]
	events chan Event
	offers atomic.Int32
	ready  chan struct{} // closed once p is set
}

var debugSDP = false

type counters struct{ frames, audio, lost, late atomic.Uint64 }

func newClient(t testing.TB) *client {
	t.Helper()
	pc, err := clientAPI(t).NewPeerConnection(pwebrtc.Configuration{})
	must(t, err)
	c := &client{t: t, sub: pc, events: make(chan Event, 4096), ready: make(chan struct{})}
	pc.OnTrack(c.onTrack)
	t.Cleanup(func() {
		_ = pc.Close()
		for _, p := range c.pubs {
			_ = p.Close()
		}
	})
	return c
}

// join joins r with the client's event handler.
func (c *client) join(r *Room, name string, role Role) *client {
	c.t.Helper()
	p, err := r.Join(JoinOptions{Name: name, User: name, Role: role, OnEvent: c.onEvent})
	must(c.t, err)
	c.p = p
	close(c.ready)
	return c
}

func (c *client) onEvent(ev Event) {
	if ev.Type == EventOffer {
		c.offers.Add(1)
		go c.answer(ev.SDP)
		return
	}
	select {
	case c.events <- ev:
	default:
	}
}

func (c *client) answer(offer string) {
	<-c.ready
	ans, err := peer.Answer(c.sub, offer)
	if err != nil {
		return // the PeerConnection closed
	}
	_ = c.p.Answer(ans)
}

func (c *client) counters(label string) *counters { return c.recv.Get(label) }

func (c *client) onTrack(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
	r := c.counters(tr.StreamID())
	video := tr.Kind() == pwebrtc.RTPCodecTypeVideo
	var last uint16
	var have bool
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if !video {
			r.audio.Add(1)
			continue
		}
		if have {
			switch gap := int16(p.SequenceNumber - last - 1); {
			case gap > 0:
				r.lost.Add(uint64(gap))
			case gap < 0:
				r.late.Add(1) // reordered or retransmitted
				continue
			}
		}
		last, have = p.SequenceNumber, true
		if p.Marker {
			r.frames.Add(1)
		}
	}
}

// waitEvent waits for an event of typ matching ok.
func (c *client) waitEvent(typ string, d time.Duration, ok func(Event) bool) Event {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-c.events:
			if ev.Type == typ && (ok == nil || ok(ev)) {
				return ev
			}
		case <-deadline:
			c.t.Fatalf("no %s event within %s", typ, d)
		}
	}
}

// publisher is a pion publishing PeerConnection sending the sample.
type publisher struct {
	pc *pwebrtc.PeerConnection
	peer.Tracks
	level atomic.Int32 // RFC 6464 level sent with audio (-1: no extension)
}

// publish publishes the looping sample (with simulcast rids if given)
// until ctx ends; audio carries the audio-level extension with level.
func (c *client) publish(ctx context.Context, rids []string, level int) (*publisher, error) {
	c.t.Helper()
	pc, err := clientAPI(c.t).NewPeerConnection(pwebrtc.Configuration{})
	must(c.t, err)
	c.pubs = append(c.pubs, pc)
	pub := &publisher{pc: pc}
	pub.level.Store(int32(level))
	pub.Tracks, err = peer.AddTracks(pc, "a", "v", "pub", rids)
	must(c.t, err)
	peer.DrainRTCP(pc)
	offer, err := peer.Offer(pc)
	must(c.t, err)
	res, err := c.p.Publish(ctx, offer, PublishOptions{})
	if err != nil {
		return nil, err
	}
	answer := res.Answer
	if debugSDP {
		c.t.Logf("offer:\n%s\nanswer:\n%s", offer, answer)
	}
	must(c.t, pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: answer}))
	go pub.pump(ctx)
	return pub, nil
}

// pump sends the sample with the mid and rid extensions on simulcast
// layers (pion does not add them itself) and the audio level.
func (pub *publisher) pump(ctx context.Context) {
	var levelID, midID, ridID uint8
	var mid string
	for _, tr := range pub.pc.GetTransceivers() {
		if tr.Kind() != pwebrtc.RTPCodecTypeVideo || tr.Sender() == nil {
			continue
		}
		mid = tr.Mid()
		for _, h := range tr.Sender().GetParameters().HeaderExtensions {
			switch h.URI {
			case sdp.SDESMidURI:
				midID = uint8(h.ID)
			case sdp.SDESRTPStreamIDURI:
				ridID = uint8(h.ID)
			}
		}
	}
	for _, snd := range pub.pc.GetSenders() {
		if snd.Track() != nil && snd.Track().Kind() == pwebrtc.RTPCodecTypeAudio {
			for _, h := range snd.GetParameters().HeaderExtensions {
				if h.URI == sdp.AudioLevelURI {
					levelID = uint8(h.ID)
				}
			}
		}
	}
	_ = peer.Pump{Tracks: pub.Tracks,
		EditVideo: func(tr *pwebrtc.TrackLocalStaticRTP, p *rtp.Packet) {
			if tr.RID() != "" && midID != 0 && ridID != 0 {
				_ = p.Header.SetExtension(midID, []byte(mid))
				_ = p.Header.SetExtension(ridID, []byte(tr.RID()))
			}
		},
		EditAudio: func(p *rtp.Packet) {
			if lv := pub.level.Load(); levelID != 0 && lv >= 0 {
				ext, _ := rtp.AudioLevelExtension{Level: uint8(lv), Voice: true}.Marshal()
				_ = p.Header.SetExtension(levelID, ext)
			}
		},
	}.Run(ctx)
}

// publishSample publishes the sample into the hub as id (a camera).
func publishSample(t testing.TB, hub *media.Hub, id media.StreamID) {
	t.Helper()
	st, err := hub.Publish(id)
	must(t, err)
	vid, err := sample.Video()
	must(t, err)
	var sps, pps []byte
	for _, n := range vid[0].NALUs {
		switch n[0] & 0x1f {
		case 7:
			sps = n
		case 8:
			pps = n
		}
	}
	st.SetTracks([]*media.Track{
		{Codec: media.H264, ClockRate: 90000, SPS: sps, PPS: pps, PayloadType: 96},
		{Codec: media.PCMA, ClockRate: 8000, PayloadType: 8},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = sample.Loop(ctx, peer.SinkFuncs{
			V: func(f sample.Frame, pts int64) {
				st.Write(&media.Unit{Track: 0, PTS: pts, Keyframe: f.Keyframe, NALUs: slices.Clone(f.NALUs)})
			},
			A: func(b []byte, pts int64) { st.Write(&media.Unit{Track: 1, PTS: pts, Payload: b}) },
		})
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
}
