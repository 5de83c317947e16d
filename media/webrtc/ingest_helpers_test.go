package webrtc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/sample"
	"pingan/media"
)

// newTestHub runs a media hub for the test's life.
func newTestHub(t testing.TB) *media.Hub {
	t.Helper()
	h := media.NewHub(media.Config{ReadyTimeout: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// clientAPI is a pion client API with the default codecs and interceptors
// (NACK, reports, TWCC feedback, simulcast extensions), loopback ICE.
func clientAPI(t testing.TB) *pwebrtc.API {
	t.Helper()
	m := &pwebrtc.MediaEngine{}
	must(t, m.RegisterDefaultCodecs())
	ir := &interceptor.Registry{}
	must(t, pwebrtc.RegisterDefaultInterceptors(m, ir))
	must(t, m.RegisterHeaderExtension(pwebrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, pwebrtc.RTPCodecTypeAudio))
	se := pwebrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return pwebrtc.NewAPI(pwebrtc.WithMediaEngine(m), pwebrtc.WithSettingEngine(se), pwebrtc.WithInterceptorRegistry(ir))
}

// pubClient is a pion publisher: H.264 video (one track per rid, or one
// plain track) and an Opus-labelled audio track carrying the sample's A-law.
type pubClient struct {
	pc    *pwebrtc.PeerConnection
	video []*pwebrtc.TrackLocalStaticRTP // by rid order
	audio *pwebrtc.TrackLocalStaticRTP
}

func newPubClient(t testing.TB, rids []string) (*pubClient, string) {
	t.Helper()
	pc, err := clientAPI(t).NewPeerConnection(pwebrtc.Configuration{})
	must(t, err)
	c := &pubClient{pc: pc}
	h264 := pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	c.audio, err = pwebrtc.NewTrackLocalStaticRTP(pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "pub")
	must(t, err)
	_, err = pc.AddTransceiverFromTrack(c.audio, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionSendonly})
	must(t, err)
	if len(rids) == 0 {
		v, err := pwebrtc.NewTrackLocalStaticRTP(h264, "video", "pub")
		must(t, err)
		c.video = append(c.video, v)
		_, err = pc.AddTransceiverFromTrack(v, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionSendonly})
		must(t, err)
	} else {
		var snd *pwebrtc.RTPSender
		for i, rid := range rids {
			v, err := pwebrtc.NewTrackLocalStaticRTP(h264, "video", "pub", pwebrtc.WithRTPStreamID(rid))
			must(t, err)
			c.video = append(c.video, v)
			if i == 0 {
				tr, err := pc.AddTransceiverFromTrack(v, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionSendonly})
				must(t, err)
				snd = tr.Sender()
				continue
			}
			must(t, snd.AddEncoding(v))
		}
	}
	for _, snd := range pc.GetSenders() {
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := snd.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	offer, err := pc.CreateOffer(nil)
	must(t, err)
	done := pwebrtc.GatheringCompletePromise(pc)
	must(t, pc.SetLocalDescription(offer))
	<-done
	t.Cleanup(func() { _ = pc.Close() })
	return c, pc.LocalDescription().SDP
}

// pump sends the looping sample until ctx ends. Every video packet of
// layer i starts with the sample payload; tag, when set, replaces the
// first byte after a marker position so receivers can tell layers apart:
// layers are sent as is, and a receiver tells them apart by SSRC only.
func (c *pubClient) pump(ctx context.Context) {
	var pay codecs.H264Payloader
	seq := make([]uint16, len(c.video))
	var aseq uint16
	_ = sample.Loop(ctx, sinkFunc{
		v: func(f sample.Frame, pts int64) {
			var annexB []byte
			for _, n := range f.NALUs {
				annexB = append(annexB, 0, 0, 0, 1)
				annexB = append(annexB, n...)
			}
			pl := pay.Payload(1200, annexB)
			for li, tr := range c.video {
				for i, b := range pl {
					_ = tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq[li],
						Timestamp: uint32(pts), Marker: i == len(pl)-1}, Payload: b})
					seq[li]++
				}
			}
		},
		a: func(b []byte, pts int64) {
			_ = c.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: aseq,
				Timestamp: uint32(pts * 6), Marker: true}, Payload: b})
			aseq++
		},
	})
}

// obsOffer rewrites a pion publisher offer (audio mid 0, video mid 1) into
// the shape OBS 30+ (libdatachannel) sends to a WHIP endpoint: one BUNDLE,
// rtcp-mux, Opus PT 111, H.264 PT 96 packetization-mode=1, a=ssrc lines,
// no extmaps besides none, trickle-capable ice-options.
func obsOffer(t testing.TB, pionOffer string) string {
	t.Helper()
	var d sdp.SessionDescription
	must(t, d.UnmarshalString(pionOffer))
	attr := func(md *sdp.MediaDescription, key string) string {
		v, _ := md.Attribute(key)
		if v == "" {
			v, _ = d.Attribute(key)
		}
		return v
	}
	ssrc := func(md *sdp.MediaDescription) string {
		for _, a := range md.Attributes {
			if a.Key == "ssrc" {
				id, _, _ := strings.Cut(a.Value, " ")
				return id
			}
		}
		t.Fatal("offer without a=ssrc")
		return ""
	}
	var cands []string
	for _, a := range d.MediaDescriptions[0].Attributes {
		if a.Key == "candidate" {
			cands = append(cands, "a=candidate:"+a.Value)
		}
	}
	au, vi := d.MediaDescriptions[0], d.MediaDescriptions[1]
	lines := []string{
		"v=0", "o=rtc 3167387130 0 IN IP4 127.0.0.1", "s=-", "t=0 0",
		"a=group:BUNDLE 0 1", "a=group:LS 0 1", "a=msid-semantic:WMS *", "a=ice-options:ice2,trickle",
		"a=fingerprint:" + attr(au, "fingerprint"),
		"m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:0", "a=sendonly",
		"a=ssrc:" + ssrc(au) + " cname:obs", "a=ssrc:" + ssrc(au) + " msid:obs-stream obs-audio",
		"a=msid:obs-stream obs-audio", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2",
		"a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1",
		"a=setup:actpass", "a=ice-ufrag:" + attr(au, "ice-ufrag"), "a=ice-pwd:" + attr(au, "ice-pwd"),
	}
	lines = append(lines, cands...)
	lines = append(lines,
		"m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=mid:1", "a=sendonly",
		"a=ssrc:"+ssrc(vi)+" cname:obs", "a=ssrc:"+ssrc(vi)+" msid:obs-stream obs-video",
		"a=msid:obs-stream obs-video", "a=rtcp-mux", "a=rtpmap:96 H264/90000",
		"a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli", "a=rtcp-fb:96 goog-remb",
		"a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
		"a=setup:actpass", "a=ice-ufrag:"+attr(vi, "ice-ufrag"), "a=ice-pwd:"+attr(vi, "ice-pwd"),
	)
	return strings.Join(lines, "\r\n") + "\r\n"
}

// subClient answers a Subscriber's offers and counts what it receives per
// msid stream id.
type subClient struct {
	t      testing.TB
	pc     *pwebrtc.PeerConnection
	mu     sync.Mutex
	recv   map[string]*recvCounters
	offers atomic.Int32
}

type recvCounters struct {
	video, audio, frames, keyframes atomic.Uint64
	lost                            atomic.Uint64
	ssrcs                           sync.Map // source payload prefix → seen (layer tags)
	lastPayload                     atomic.Value
}

func newSubClient(t testing.TB) *subClient {
	t.Helper()
	pc, err := clientAPI(t).NewPeerConnection(pwebrtc.Configuration{})
	must(t, err)
	c := &subClient{t: t, pc: pc, recv: map[string]*recvCounters{}}
	pc.OnTrack(c.onTrack)
	t.Cleanup(func() { _ = pc.Close() })
	return c
}

func (c *subClient) counters(label string) *recvCounters {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.recv[label]
	if r == nil {
		r = &recvCounters{}
		c.recv[label] = r
	}
	return r
}

func (c *subClient) onTrack(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
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
		r.video.Add(1)
		if have && p.SequenceNumber != last+1 {
			r.lost.Add(uint64(p.SequenceNumber - last - 1))
		}
		last, have = p.SequenceNumber, true
		if p.Marker {
			r.frames.Add(1)
		}
		if startsKeyframe(p.Payload) {
			r.keyframes.Add(1)
		}
		r.lastPayload.Store(append([]byte(nil), p.Payload...))
	}
}

// answer applies a server offer and hands the answer to set.
func (c *subClient) answer(offer string, set func(string) error) {
	c.offers.Add(1)
	if err := c.pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeOffer, SDP: offer}); err != nil {
		c.t.Errorf("client: set offer: %v", err)
		return
	}
	ans, err := c.pc.CreateAnswer(nil)
	if err != nil {
		c.t.Errorf("client: answer: %v", err)
		return
	}
	done := pwebrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(ans); err != nil {
		c.t.Errorf("client: set answer: %v", err)
		return
	}
	<-done
	if err := set(c.pc.LocalDescription().SDP); err != nil {
		c.t.Errorf("client: send answer: %v", err)
	}
}

func fmtLabels(m map[string]*recvCounters) string {
	var b strings.Builder
	for k, v := range m {
		fmt.Fprintf(&b, "%s: video %d audio %d; ", k, v.video.Load(), v.audio.Load())
	}
	return b.String()
}
