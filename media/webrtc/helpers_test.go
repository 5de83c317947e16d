package webrtc

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/sample"
	"pingan/media"
)

// fakeReader stands in for a media.Reader: a bounded channel of units.
type fakeReader struct {
	tracks   []*media.Track
	ch       chan *media.Unit
	keyframe atomic.Int32
	closed   chan struct{}
	once     sync.Once
}

func newFakeReader(tracks []*media.Track) *fakeReader {
	return &fakeReader{tracks: tracks, ch: make(chan *media.Unit, 1024), closed: make(chan struct{})}
}

func (f *fakeReader) Tracks() []*media.Track { return f.tracks }
func (f *fakeReader) RequestKeyframe()       { f.keyframe.Add(1) }
func (f *fakeReader) Close()                 { f.once.Do(func() { close(f.closed) }) }
func (f *fakeReader) Next(ctx context.Context) (*media.Unit, error) {
	select {
	case u := <-f.ch:
		return u, nil
	case <-f.closed:
		return nil, media.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakeReader) push(u *media.Unit) {
	select {
	case f.ch <- u:
	case <-f.closed:
	default:
	}
}

// packetizer builds the hub-style shared packets of the sample.
type packetizer struct {
	seq  [2]uint16
	h264 codecs.H264Payloader
}

func (p *packetizer) video(f sample.Frame, pts int64) *media.Unit {
	var annexB []byte
	for _, n := range f.NALUs {
		annexB = append(annexB, 0, 0, 0, 1)
		annexB = append(annexB, n...)
	}
	u := &media.Unit{Track: 0, PTS: pts, Keyframe: f.Keyframe, NALUs: f.NALUs, Received: time.Now()}
	pl := p.h264.Payload(1200, annexB)
	for i, b := range pl {
		u.Packets = append(u.Packets, &rtp.Packet{Header: rtp.Header{
			Version: 2, PayloadType: 96, SequenceNumber: p.seq[0], Timestamp: uint32(pts),
			SSRC: 1111, Marker: i == len(pl)-1,
		}, Payload: b})
		p.seq[0]++
	}
	return u
}

func (p *packetizer) audio(b []byte, pts int64) *media.Unit {
	u := &media.Unit{Track: 1, PTS: pts, Payload: b, Received: time.Now()}
	u.Packets = []*rtp.Packet{{Header: rtp.Header{
		Version: 2, PayloadType: 8, SequenceNumber: p.seq[1], Timestamp: uint32(pts), SSRC: 2222, Marker: true,
	}, Payload: b}}
	p.seq[1]++
	return u
}

// sampleTracks are the tracks of the shipped sample.
func sampleTracks(t testing.TB) []*media.Track {
	t.Helper()
	vid, err := sample.Video()
	if err != nil {
		t.Fatal(err)
	}
	var sps, pps []byte
	for _, n := range vid[0].NALUs {
		switch n[0] & 0x1f {
		case 7:
			sps = n
		case 8:
			pps = n
		}
	}
	return []*media.Track{
		{Codec: media.H264, ClockRate: 90000, SPS: sps, PPS: pps, PayloadType: 96},
		{Codec: media.PCMA, ClockRate: 8000, PayloadType: 8},
	}
}

// sinkFunc adapts functions to sample.Sink.
type sinkFunc struct {
	v func(sample.Frame, int64)
	a func([]byte, int64)
}

func (s sinkFunc) Video(f sample.Frame, pts int64) { s.v(f, pts) }
func (s sinkFunc) Audio(b []byte, pts int64)       { s.a(b, pts) }

// viewer is a pion client peer that counts what it receives.
type viewer struct {
	pc            *pwebrtc.PeerConnection
	videoPackets  atomic.Uint64
	audioPackets  atomic.Uint64
	frames        atomic.Uint64 // video marker bits
	firstVideo    chan []byte   // payload of the first video packet
	firstOnce     sync.Once
	lost          atomic.Uint64
	dups          atomic.Uint64 // video packets older than the newest (retransmissions)
	videoSSRC     atomic.Uint32
	lastSeq       atomic.Uint32
	videoCodecSDP atomic.Value
}

// newViewer builds a recvonly client and returns it with its offer (all
// candidates gathered). h265Only offers only H.265 for video.
func newViewer(t testing.TB, h265Only bool) (*viewer, string) {
	t.Helper()
	return newViewerNet(t, h265Only, false)
}

// newTCPViewer is a viewer whose ICE uses TCP only (as behind a firewall
// that drops UDP): it dials the hub's passive TCP candidates.
func newTCPViewer(t testing.TB) (*viewer, string) {
	t.Helper()
	return newViewerNet(t, false, true)
}

func newViewerNet(t testing.TB, h265Only, tcpOnly bool) (*viewer, string) {
	t.Helper()
	return newViewerWith(t, h265Only, func(se *pwebrtc.SettingEngine) {
		if tcpOnly {
			se.SetNetworkTypes([]pwebrtc.NetworkType{pwebrtc.NetworkTypeTCP4})
		}
	})
}

// newViewerWith builds a viewer whose SettingEngine tweak adjusts.
func newViewerWith(t testing.TB, h265Only bool, tweak func(*pwebrtc.SettingEngine)) (*viewer, string) {
	t.Helper()
	m := &pwebrtc.MediaEngine{}
	if h265Only {
		must(t, m.RegisterCodec(pwebrtc.RTPCodecParameters{
			RTPCodecCapability: pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypeH265, ClockRate: 90000},
			PayloadType:        116,
		}, pwebrtc.RTPCodecTypeVideo))
		must(t, m.RegisterCodec(pwebrtc.RTPCodecParameters{
			RTPCodecCapability: pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
			PayloadType:        111,
		}, pwebrtc.RTPCodecTypeAudio))
	} else {
		must(t, m.RegisterDefaultCodecs())
	}
	se := pwebrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	tweak(&se)
	api := pwebrtc.NewAPI(pwebrtc.WithMediaEngine(m), pwebrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	v := &viewer{pc: pc, firstVideo: make(chan []byte, 1)}
	for _, k := range []pwebrtc.RTPCodecType{pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(v.onTrack)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := pwebrtc.GatheringCompletePromise(pc)
	must(t, pc.SetLocalDescription(offer))
	<-done
	return v, pc.LocalDescription().SDP
}

func (v *viewer) onTrack(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
	video := tr.Kind() == pwebrtc.RTPCodecTypeVideo
	if video {
		v.videoCodecSDP.Store(tr.Codec().SDPFmtpLine)
		v.videoSSRC.Store(uint32(tr.SSRC()))
	}
	var last uint16
	var have bool
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if !video {
			v.audioPackets.Add(1)
			continue
		}
		v.videoPackets.Add(1)
		if have && int16(p.SequenceNumber-last) <= 0 {
			v.dups.Add(1)
			continue
		}
		if have && p.SequenceNumber != last+1 {
			v.lost.Add(uint64(p.SequenceNumber - last - 1))
		}
		last, have = p.SequenceNumber, true
		v.lastSeq.Store(uint32(last))
		if p.Marker {
			v.frames.Add(1)
		}
		v.firstOnce.Do(func() { v.firstVideo <- append([]byte(nil), p.Payload...) })
	}
}

func (v *viewer) answer(t testing.TB, sdp string) {
	t.Helper()
	must(t, v.pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: sdp}))
}

// startsKeyframe reports whether an H.264 RTP payload begins a keyframe:
// an SPS or IDR NALU, a STAP-A holding one, or the first FU-A fragment of one.
func startsKeyframe(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	key := func(typ byte) bool { return typ == 7 || typ == 5 }
	switch typ := p[0] & 0x1f; typ {
	case 24: // STAP-A
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if i+2 < len(p) && key(p[i+2]&0x1f) {
				return true
			}
			i += 2 + size
		}
		return false
	case 28: // FU-A
		return p[1]&0x80 != 0 && key(p[1]&0x1f)
	default:
		return key(typ)
	}
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
