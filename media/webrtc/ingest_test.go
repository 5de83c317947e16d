package webrtc

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/sample"
	"pingan/media"
)

// TestWHIPOBSShapedOffer: an offer shaped like OBS 30+'s WHIP output is
// answered, the media is depacketized into a hub stream (H.264 with its
// parameter sets, Opus) and a WHEP viewer of that stream receives frames.
func TestWHIPOBSShapedOffer(t *testing.T) {
	e := newTestEngine(t, false)
	hub := newTestHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	pub, pionOffer := newPubClient(t, nil)
	offer := obsOffer(t, pionOffer)
	st, err := hub.Publish("live/obs")
	must(t, err)
	in, answer, err := e.NewWHIPSession(ctx, offer, IngestOptions{Stream: st})
	must(t, err)
	for _, want := range []string{"a=recvonly", "H264/90000", "opus/48000", "a=candidate"} {
		if !strings.Contains(answer, want) {
			t.Fatalf("answer lacks %q:\n%s", want, answer)
		}
	}
	must(t, pub.pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: answer}))
	go pub.pump(ctx)

	r, err := hub.Subscribe(ctx, "live/obs", media.ReaderOptions{})
	must(t, err)
	tracks := r.Tracks()
	if len(tracks) != 2 || tracks[0].Codec != media.H264 || len(tracks[0].SPS) == 0 || tracks[1].Codec != media.Opus {
		t.Fatalf("stream tracks %+v", tracks)
	}
	v, vOffer := newViewer(t, false)
	defer v.pc.Close()
	s, vAnswer, err := e.NewWHEPSession(ctx, vOffer, r)
	must(t, err)
	v.answer(t, vAnswer)
	waitFor(t, 10*time.Second, "30 frames and audio at the WHEP viewer", func() bool {
		return v.frames.Load() >= 30 && v.audioPackets.Load() > 10
	})
	if st := in.Stats(); st.Units == 0 || st.Packets == 0 {
		t.Errorf("ingest stats %+v", st)
	}
	s.Close()
	in.Close()
	waitFor(t, 5*time.Second, "the stream unpublished after the WHIP session ended", func() bool {
		_, ok := hub.Info("live/obs")
		return !ok
	})
}

func TestWHIPRejectsBadOffers(t *testing.T) {
	e := newTestEngine(t, false)
	hub := newTestHub(t)
	for i, offer := range []string{"", "garbage", "v=0\r\n"} {
		st, err := hub.Publish(media.StreamID("bad/" + string(rune('a'+i))))
		must(t, err)
		if _, _, err := e.NewWHIPSession(context.Background(), offer, IngestOptions{Stream: st}); err == nil {
			t.Errorf("offer %q accepted", offer)
		}
	}
}

// hubSink writes the sample into a hub stream (video only when audio is false).
type hubSink struct {
	s     *media.Stream
	audio bool
}

func (k hubSink) Video(f sample.Frame, pts int64) {
	k.s.Write(&media.Unit{Track: 0, PTS: pts, Keyframe: f.Keyframe, NALUs: slices.Clone(f.NALUs)})
}

func (k hubSink) Audio(b []byte, pts int64) {
	if k.audio {
		k.s.Write(&media.Unit{Track: 1, PTS: pts, Payload: b})
	}
}

// publishSample publishes the looping sample as id until the test ends.
func publishSample(t testing.TB, hub *media.Hub, id media.StreamID, audio bool) {
	t.Helper()
	st, err := hub.Publish(id)
	must(t, err)
	tracks := sampleTracks(t)
	if !audio {
		tracks = tracks[:1]
	}
	st.SetTracks(tracks)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sample.Loop(ctx, hubSink{s: st, audio: audio}); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
}

func hubSubscribe(hub *media.Hub) SubscribeFunc {
	return func(ctx context.Context, id media.StreamID) (Reader, error) {
		r, err := hub.Subscribe(ctx, id, media.ReaderOptions{})
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}
