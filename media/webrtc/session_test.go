package webrtc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"pingan/internal/sample"
	"pingan/media"
)

func newTestEngine(t testing.TB, batch bool) *Engine {
	t.Helper()
	e, err := NewEngine(Config{UDPPort: -1, TCPPort: -1, IncludeLoopback: true, BatchWrite: batch})
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
	for _, batch := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "batch"}[batch]
		t.Run(name, func(t *testing.T) {
			e := newTestEngine(t, batch)
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
			s.Close()
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
