package webrtc

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtcp"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/sample"
	"pingan/media"
)

func newTestEngine(t testing.TB, batch bool) *Engine {
	t.Helper()
	return newTestEngineCfg(t, Config{BatchWrite: batch})
}

func newTestEngineCfg(t testing.TB, cfg Config) *Engine {
	t.Helper()
	cfg.UDPPort, cfg.TCPPort, cfg.IncludeLoopback = -1, -1, true
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// playSample feeds the looping sample to every reader returned by readers().
func playSample(ctx context.Context, readers func() []*fakeReader) {
	var p packetizer
	_ = sample.Loop(ctx, sinkFunc{
		v: func(f sample.Frame, pts int64) {
			u := p.video(f, pts)
			for _, r := range readers() {
				r.push(u)
			}
		},
		a: func(b []byte, pts int64) {
			u := p.audio(b, pts)
			for _, r := range readers() {
				r.push(u)
			}
		},
	})
}

func TestWHEPSessionForwards(t *testing.T) {
	for _, mode := range []struct {
		name string
		cfg  Config
	}{
		{"unit-gso", Config{}},
		{"unit-sendmmsg", Config{NoGSO: true}},
		{"single", Config{SingleWrites: true}},
		{"timer-batch", Config{BatchWrite: true}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			e := newTestEngineCfg(t, mode.cfg)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := newFakeReader(sampleTracks(t))
			go playSample(ctx, func() []*fakeReader { return []*fakeReader{r} })

			v, offer := newViewer(t, false)
			defer v.pc.Close()
			s, answer, err := e.NewWHEPSession(ctx, offer, r)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(answer, "a=candidate") {
				t.Fatalf("answer without candidates:\n%s", answer)
			}
			v.answer(t, answer)

			select {
			case first := <-v.firstVideo:
				if !startsKeyframe(first) {
					t.Fatalf("first video packet is not a keyframe start: % x", first[:min(8, len(first))])
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no video within 10 s")
			}
			waitFor(t, 5*time.Second, "30 frames and audio", func() bool {
				return v.frames.Load() >= 30 && v.audioPackets.Load() > 10
			})
			if fmtp, _ := v.videoCodecSDP.Load().(string); !strings.Contains(fmtp, "profile-level-id=4d") {
				t.Errorf("video fmtp %q: want the sample's Main profile", fmtp)
			}
			st := s.Stats()
			if st.PacketsSent == 0 || st.FirstKeyframe == 0 {
				t.Errorf("stats %+v", st)
			}
			if v.lost.Load() != 0 {
				t.Errorf("lost %d video packets on loopback", v.lost.Load())
			}
			if batching(t, e) && e.sends.batched.Load() == 0 {
				t.Error("unit batching is on but no packet went through a batch")
			}
			s.Close()
			if e.sends != nil {
				if n := countQueues(e.sends); n != 0 {
					t.Errorf("%d send queues left after Close", n)
				}
			}
			if e.Sessions() != 0 {
				t.Errorf("%d sessions after Close", e.Sessions())
			}
			select {
			case <-r.closed:
			default:
				t.Error("reader not closed with the session")
			}
		})
	}
}

func TestWHEPSessionSkipsUnofferedH265(t *testing.T) {
	e := newTestEngine(t, false)
	tracks := []*media.Track{{Codec: media.H265, ClockRate: 90000}, {Codec: media.AAC, ClockRate: 48000}}
	r := newFakeReader(tracks)
	v, offer := newViewer(t, true) // offers H.265 + Opus only
	defer v.pc.Close()
	s, _, err := e.NewWHEPSession(context.Background(), offer, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Skipped()) != 1 || !strings.Contains(s.Skipped()[0], "AAC") {
		t.Errorf("skipped %q: want the AAC track", s.Skipped())
	}
	s.Close()

	// A browser without H.265 gets nothing from an H.265+AAC stream.
	r = newFakeReader(tracks)
	v2, offer2 := newViewer(t, false)
	defer v2.pc.Close()
	offer2 = strings.ReplaceAll(offer2, "H265", "X265")
	_, _, err = e.NewWHEPSession(context.Background(), offer2, r)
	if !errors.Is(err, ErrNoTracks) || !strings.Contains(err.Error(), "H265") {
		t.Fatalf("err %v: want ErrNoTracks naming H265", err)
	}
}

func TestWHEPSessionBadOffer(t *testing.T) {
	e := newTestEngine(t, false)
	for _, offer := range []string{"", "hello", "v=0\r\n", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n"} {
		r := newFakeReader(sampleTracks(t))
		_, _, err := e.NewWHEPSession(context.Background(), offer, r)
		if !errors.Is(err, ErrBadOffer) {
			t.Errorf("offer %q: err %v, want ErrBadOffer", offer, err)
		}
		select {
		case <-r.closed:
		default:
			t.Errorf("offer %q: reader left open", offer)
		}
	}
}

func TestWHEPSessionPLIAndGap(t *testing.T) {
	e := newTestEngine(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newFakeReader(sampleTracks(t))
	v, offer := newViewer(t, false)
	defer v.pc.Close()
	s, answer, err := e.NewWHEPSession(ctx, offer, r)
	must(t, err)
	v.answer(t, answer)

	// Push a GOP, then skip ahead (as a reader does after an overflow):
	// the viewer must see continuous sequence numbers.
	vid, _ := sample.Video()
	var p packetizer
	for i := range 60 {
		u := p.video(vid[i], int64(i)*3600)
		if i >= 20 && i < 50 {
			continue // dropped by the "reader"
		}
		if i == 50 {
			u = p.video(vid[0], int64(i)*3600) // the next keyframe
		}
		r.push(u)
	}
	waitFor(t, 10*time.Second, "frames", func() bool { return v.frames.Load() >= 30 })
	if v.lost.Load() != 0 {
		t.Errorf("viewer saw %d missing packets across the skip", v.lost.Load())
	}
	s.requestKeyframe()
	s.requestKeyframe() // rate-limited into one
	if got := r.keyframe.Load(); got != 1 {
		t.Errorf("keyframe requests %d, want 1", got)
	}
	s.Close()
}

// batching says whether e batches unit writes on this kernel.
func batching(t testing.TB, e *Engine) bool {
	t.Helper()
	if e.sends == nil {
		return false
	}
	if e.cfg.NoGSO {
		return true
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	defer c.Close()
	return gsoSupported(c)
}

func countQueues(r *sendRegistry) int {
	n := 0
	r.m.Range(func(any, any) bool { n++; return true })
	return n
}

// TestWHEPSessionTCPOnly: a viewer that can reach the hub only over TCP
// (UDP blocked) still connects through the ICE-TCP port and gets clean
// video; unit batching leaves its TCP writes alone.
func TestWHEPSessionTCPOnly(t *testing.T) {
	e := newTestEngineCfg(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newFakeReader(sampleTracks(t))
	go playSample(ctx, func() []*fakeReader { return []*fakeReader{r} })

	v, offer := newTCPViewer(t)
	defer v.pc.Close()
	s, answer, err := e.NewWHEPSession(ctx, offer, r)
	must(t, err)
	if !strings.Contains(answer, "tcptype passive") {
		t.Fatalf("answer without a passive TCP candidate:\n%s", answer)
	}
	v.answer(t, answer)
	waitFor(t, 15*time.Second, "30 frames over TCP", func() bool { return v.frames.Load() >= 30 })
	if v.lost.Load() != 0 {
		t.Errorf("lost %d video packets over TCP", v.lost.Load())
	}
	pair, err := v.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local.Protocol != pwebrtc.ICEProtocolTCP {
		t.Errorf("selected pair %v (%v): want TCP", pair, err)
	}
	if q := s.batch.q.Load(); q != nil {
		t.Errorf("TCP session has a UDP send queue for %s", q.dst)
	}
	s.Close()
}

// stoppedSession plays the sample to one viewer over a WHEP session until
// it has 10 frames, then stops the source, so the viewer's last sequence
// number stays put for NACK tests. The caller closes the session.
func stoppedSession(t *testing.T) (*Engine, *Session, *viewer) {
	t.Helper()
	e := newTestEngineCfg(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	play, stop := context.WithCancel(ctx)
	r := newFakeReader(sampleTracks(t))
	go playSample(play, func() []*fakeReader { return []*fakeReader{r} })
	v, offer := newViewer(t, false)
	t.Cleanup(func() { _ = v.pc.Close() })
	s, answer, err := e.NewWHEPSession(ctx, offer, r)
	must(t, err)
	v.answer(t, answer)
	waitFor(t, 10*time.Second, "video", func() bool { return v.frames.Load() >= 10 })
	stop()
	time.Sleep(100 * time.Millisecond) // let the last unit go out
	return e, s, v
}

// TestWHEPSessionNACK: packets the viewer NACKs are sent again, as one
// batch when the engine batches. (The viewer's SRTP replay check drops a
// copy of a packet it already has, so the count is the hub's.)
func TestWHEPSessionNACK(t *testing.T) {
	e, s, v := stoppedSession(t)
	last := uint16(v.lastSeq.Load())
	seqs := []uint16{last - 9, last - 8, last - 7, last - 3}
	resent := s.Stats().Resent
	batched := e.sends.batched.Load()
	must(t, v.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
		SenderSSRC: 1, MediaSSRC: v.videoSSRC.Load(), Nacks: rtcp.NackPairsFromSequenceNumbers(seqs),
	}}))
	waitFor(t, 5*time.Second, "the NACKed packets resent", func() bool {
		return s.Stats().Resent >= resent+uint64(len(seqs))
	})
	if st := s.Stats(); st.NACKed < uint64(len(seqs)) {
		t.Errorf("stats %+v: want %d NACKed", st, len(seqs))
	}
	// ICE may settle on the TCP pair on a loaded machine; TCP is never batched.
	pair, err := v.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	udp := err == nil && pair != nil && pair.Local.Protocol == pwebrtc.ICEProtocolUDP
	if udp && batching(t, e) {
		// The viewer's own NACKs of lost packets may have been counted
		// first (one packet each, unbatched): wait for ours.
		waitFor(t, 5*time.Second, "the resends to go out as one batch", func() bool {
			return e.sends.batched.Load()-batched >= uint64(len(seqs))
		})
	}
	s.Close()
}

// TestWHEPSessionNACKThrottle: a client that NACKs the same packets over and
// over (pion's generator re-NACKs every 100 ms) gets each one at most
// nackMaxResends times, and a NACK repeated within nackResendGap of the
// resend is ignored.
func TestWHEPSessionNACKThrottle(t *testing.T) {
	_, s, v := stoppedSession(t)
	defer s.Close()
	last := uint16(v.lastSeq.Load())
	seqs := []uint16{last - 5, last - 2}
	nack := []rtcp.Packet{&rtcp.TransportLayerNack{
		SenderSSRC: 1, MediaSSRC: v.videoSSRC.Load(), Nacks: rtcp.NackPairsFromSequenceNumbers(seqs),
	}}
	resent0, throttled0 := s.nack.resent.Load(), s.nack.throttled.Load()
	want := func(what string, resent, throttled int) {
		t.Helper()
		waitFor(t, 5*time.Second, what, func() bool {
			return s.nack.resent.Load()-resent0 == uint64(resent*len(seqs)) &&
				s.nack.throttled.Load()-throttled0 == uint64(throttled*len(seqs))
		})
	}
	// Twice in one compound packet: the second crossed the resend in flight.
	must(t, v.pc.WriteRTCP(append(nack, nack...)))
	want("one resend, the NACK within the gap ignored", 1, 1)
	for i := 2; i <= nackMaxResends+2; i++ {
		time.Sleep(nackResendGap + 10*time.Millisecond)
		must(t, v.pc.WriteRTCP(nack))
		want("spaced NACKs", min(i, nackMaxResends), 1+max(0, i-nackMaxResends))
	}
	if st := s.Stats(); st.Resent != s.nack.resent.Load() {
		t.Errorf("stats %+v", st)
	}
}

// TestEngineCandidates: a session offers exactly one host candidate per
// ICE address and transport: with ListenIPs 127.0.0.1 one UDP and one
// TCP candidate, and with IncludeLoopback only one loopback address.
func TestEngineCandidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want func(addrs []string) bool
	}{
		{"listen-ips", Config{ListenIPs: []string{"127.0.0.1"}}, func(a []string) bool { return len(a) == 1 && a[0] == "127.0.0.1" }},
		{"all", Config{}, func(a []string) bool {
			loop := 0
			for _, s := range a {
				if s == "127.0.0.1" || s == "::1" {
					loop++
				}
			}
			return loop == 1
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngineCfg(t, tc.cfg)
			r := newFakeReader(sampleTracks(t))
			v, offer := newViewer(t, false)
			defer v.pc.Close()
			s, answer, err := e.NewWHEPSession(context.Background(), offer, r)
			must(t, err)
			defer s.Close()
			var udp, tcp []string
			sections := 0
			for _, line := range strings.Split(answer, "\n") {
				if strings.HasPrefix(line, "m=") {
					sections++ // BUNDLE: every section repeats the candidates
				}
				if sections != 1 {
					continue
				}
				f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "a=candidate:"))
				if !strings.HasPrefix(strings.TrimSpace(line), "a=candidate:") || len(f) < 8 || f[1] != "1" {
					continue // pion repeats each candidate as component 2
				}
				switch strings.ToLower(f[2]) {
				case "udp":
					udp = append(udp, f[4])
				case "tcp":
					tcp = append(tcp, f[4])
				}
			}
			if !tc.want(udp) || len(udp) != len(e.UDPAddrs()) {
				t.Errorf("udp candidates %v (sockets %v)", udp, e.UDPAddrs())
			}
			if len(tcp) != len(udp) {
				t.Errorf("tcp candidates %v: want one per address %v", tcp, udp)
			}
		})
	}
}

// TestWHEPSessionSRTPProfiles: the hub prefers AES-128-GCM but still serves
// a client that offers only the HMAC profile or only GCM.
func TestWHEPSessionSRTPProfiles(t *testing.T) {
	for _, tc := range []struct {
		name     string
		profiles []dtls.SRTPProtectionProfile
	}{
		{"pion-default", nil},
		{"hmac-only", []dtls.SRTPProtectionProfile{dtls.SRTP_AES128_CM_HMAC_SHA1_80}},
		{"gcm-only", []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, false)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := newFakeReader(sampleTracks(t))
			go playSample(ctx, func() []*fakeReader { return []*fakeReader{r} })
			v, offer := newViewerWith(t, false, func(se *pwebrtc.SettingEngine) {
				if tc.profiles != nil {
					se.SetSRTPProtectionProfiles(tc.profiles...)
				}
			})
			defer v.pc.Close()
			s, answer, err := e.NewWHEPSession(ctx, offer, r)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			v.answer(t, answer)
			waitFor(t, 10*time.Second, "10 frames", func() bool { return v.frames.Load() >= 10 })
		})
	}
}

// TestWHEPSessionSenderReports: the viewer gets video sender reports whose
// NTP time is the wall clock and whose RTP time advances with it (the
// reports' clock is read once per unit, sendClock).
func TestWHEPSessionSenderReports(t *testing.T) {
	e := newTestEngine(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newFakeReader(sampleTracks(t))
	go playSample(ctx, func() []*fakeReader { return []*fakeReader{r} })
	v, offer := newViewer(t, false)
	defer v.pc.Close()
	s, answer, err := e.NewWHEPSession(ctx, offer, r)
	must(t, err)
	defer s.Close()
	v.answer(t, answer)
	waitFor(t, 10*time.Second, "video", func() bool { return v.frames.Load() >= 1 })

	type report struct {
		ntp, at time.Time
		rtp     uint32
	}
	reports := make(chan report, 16)
	for _, rx := range v.pc.GetReceivers() {
		go func() {
			for {
				pkts, _, err := rx.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == v.videoSSRC.Load() {
						reports <- report{ntp: ntpTime(sr.NTPTime), at: time.Now(), rtp: sr.RTPTime}
					}
				}
			}
		}()
	}
	var got []report
	for len(got) < 3 {
		select {
		case rp := <-reports:
			got = append(got, rp)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d video sender reports in 5 s", len(got))
		}
	}
	for i, rp := range got {
		if d := rp.at.Sub(rp.ntp); d < -50*time.Millisecond || d > 50*time.Millisecond {
			t.Errorf("report %d: NTP time %v off the wall clock by %v", i, rp.ntp, d)
		}
		if i == 0 {
			continue
		}
		rtpSpan := time.Duration(int32(rp.rtp-got[i-1].rtp)) * time.Second / 90000
		if d := rtpSpan - rp.ntp.Sub(got[i-1].ntp); d < -40*time.Millisecond || d > 40*time.Millisecond {
			t.Errorf("report %d: RTP time advanced %v, NTP time %v", i, rtpSpan, rp.ntp.Sub(got[i-1].ntp))
		}
	}
}

// ntpTime converts a 64-bit NTP timestamp.
func ntpTime(ntp uint64) time.Time {
	const unixFrom1900 = 2208988800
	return time.Unix(int64(ntp>>32)-unixFrom1900, int64((ntp&0xffffffff)*1e9>>32))
}
