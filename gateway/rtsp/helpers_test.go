package rtsp

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"pingan/internal/sample"
	"pingan/internal/testutil"
	"pingan/media"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeAuth is an Authorizer made of one function field.
type fakeAuth struct {
	authorize func(ctx context.Context, user, pass string, id media.StreamID, publish bool) error
}

func (f fakeAuth) AuthorizeRTSP(ctx context.Context, user, pass string, id media.StreamID, publish bool) error {
	return f.authorize(ctx, user, pass, id, publish)
}

// testAuth accepts op:secret for everything and viewer:view for reading only.
var testAuth = fakeAuth{authorize: func(_ context.Context, user, pass string, _ media.StreamID, publish bool) error {
	switch {
	case user == "op" && pass == "secret":
		return nil
	case user == "viewer" && pass == "view" && !publish:
		return nil
	case user == "viewer" && pass == "view":
		return ErrForbidden
	default:
		return errors.New("bad credentials")
	}
}}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).
			With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// newTestHub runs a hub until the test ends.
func newTestHub(t testing.TB) *media.Hub {
	t.Helper()
	h := media.NewHub(media.Config{Logger: testLogger(t), IdleTimeout: 2 * time.Second})
	errc := make(chan error, 1)
	go func() { errc <- h.Run(context.Background()) }()
	t.Cleanup(func() {
		h.Close()
		if err := <-errc; err != nil {
			t.Errorf("hub Run: %v", err)
		}
	})
	return h
}

// startServer runs an RTSP server on addr and stops it when the test ends.
func startServer(t testing.TB, hub Hub, auth Authorizer, addr string) (*Server, string) {
	t.Helper()
	s, stop := runServer(t, ServerConfig{Addr: addr, Hub: hub, Auth: auth})
	t.Cleanup(stop)
	return s, s.Addr().String()
}

// runServer starts a server; stop closes it and checks that Run returns.
func runServer(t testing.TB, cfg ServerConfig) (s *Server, stop func()) {
	t.Helper()
	cfg.Logger = testLogger(t)
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	<-s.Ready()
	if s.Addr() == nil {
		t.Fatalf("server did not start: %v", <-done)
	}
	var once sync.Once
	return s, func() {
		once.Do(func() {
			s.Close()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after Close")
			}
		})
	}
}

// sampleSink writes the looping sample into a hub stream.
type sampleSink struct {
	st    *media.Stream
	audio bool
}

func (s sampleSink) Video(f sample.Frame, pts int64) {
	s.st.Write(&media.Unit{Track: 0, PTS: pts, Keyframe: f.Keyframe, NALUs: f.NALUs, Received: time.Now()})
}

func (s sampleSink) Audio(b []byte, pts int64) {
	if s.audio {
		s.st.Write(&media.Unit{Track: 1, PTS: pts, Payload: b, Received: time.Now()})
	}
}

// sampleTracks describes the sample: H.264 with its parameter sets, and
// optionally G.711 A-law.
func sampleTracks(t testing.TB, audio bool) []*media.Track {
	t.Helper()
	frames, err := sample.Video()
	if err != nil {
		t.Fatal(err)
	}
	v := &media.Track{Codec: media.H264, ClockRate: 90000, PayloadType: 96}
	for _, n := range frames[0].NALUs {
		switch n[0] & 0x1f {
		case 7:
			v.SPS = n
		case 8:
			v.PPS = n
		}
	}
	tracks := []*media.Track{v}
	if audio {
		tracks = append(tracks, &media.Track{Codec: media.PCMA, ClockRate: 8000, Channels: 1, PayloadType: 8})
	}
	return tracks
}

// publishSample publishes the looping sample as stream id until the test ends.
func publishSample(t testing.TB, hub *media.Hub, id media.StreamID, audio bool) {
	t.Helper()
	t.Cleanup(startSample(t, hub, id, audio))
}

// startSample publishes the looping sample as stream id until stop.
func startSample(t testing.TB, hub *media.Hub, id media.StreamID, audio bool) (stop func()) {
	t.Helper()
	st, err := hub.Publish(id)
	if err != nil {
		t.Fatal(err)
	}
	st.SetTracks(sampleTracks(t, audio))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = sample.Loop(ctx, sampleSink{st: st, audio: audio})
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			st.Close()
		})
	}
}

// subscribeWait subscribes to id, retrying while it does not exist yet.
func subscribeWait(ctx context.Context, t testing.TB, hub *media.Hub, id media.StreamID) *media.Reader {
	t.Helper()
	for {
		r, err := hub.Subscribe(ctx, id, media.ReaderOptions{})
		if err == nil {
			t.Cleanup(r.Close)
			return r
		}
		select {
		case <-ctx.Done():
			t.Fatalf("subscribe %s: %v", id, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// nextUnits reads n units of track (or any track when track < 0).
func nextUnits(ctx context.Context, t testing.TB, r *media.Reader, track, n int) []*media.Unit {
	t.Helper()
	var out []*media.Unit
	for len(out) < n {
		u, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d units: %v", len(out), err)
		}
		if track < 0 || u.Track == track {
			out = append(out, u)
		}
	}
	return out
}

// samplePath is a file of the shipped sample, for ffmpeg.
func samplePath(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "internal", "sample", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func needTool(t testing.TB, name string) string { return testutil.NeedTool(t, name) }
