package media

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sourceFunc is a function-field fake Source.
type sourceFunc func(ctx context.Context, s *Stream) error

func (f sourceFunc) Start(ctx context.Context, s *Stream) error { return f(ctx, s) }

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84}
	testPPS = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// startHub runs a hub for the test's duration.
func startHub(t testing.TB, cfg Config, tweak ...func(*Hub)) *Hub {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	h := NewHub(cfg)
	for _, f := range tweak {
		f(h)
	}
	errc := make(chan error, 1)
	go func() { errc <- h.Run(context.Background()) }()
	t.Cleanup(func() {
		h.Close()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return h
}

func videoTracks() []*Track {
	return []*Track{
		{Codec: H264, ClockRate: 90000, PayloadType: 96, SPS: testSPS, PPS: testPPS},
		{Codec: PCMA, ClockRate: 8000, Channels: 1, PayloadType: 8},
	}
}

// idr returns an IDR unit of track 0 without parameter sets.
func idr(pts int64, size int) *Unit {
	nalu := make([]byte, size)
	nalu[0] = 0x65
	return &Unit{Track: 0, PTS: pts, NALUs: [][]byte{nalu}}
}

func pframe(pts int64, size int) *Unit {
	nalu := make([]byte, size)
	nalu[0] = 0x41
	return &Unit{Track: 0, PTS: pts, NALUs: [][]byte{nalu}}
}

func audio(pts int64) *Unit {
	return &Unit{Track: 1, PTS: pts, Payload: make([]byte, 160)}
}

// next reads one unit or fails the test after a second.
func next(t testing.TB, r *Reader) *Unit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	u, err := r.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return u
}

// queued reports how many units are waiting in r's queue.
func queued(r *Reader) int { return int(r.tail.Load() - r.head.Load()) }

func subscribe(t testing.TB, h *Hub, id StreamID, opts ReaderOptions) *Reader {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := h.Subscribe(ctx, id, opts)
	if err != nil {
		t.Fatalf("Subscribe %s: %v", id, err)
	}
	t.Cleanup(r.Close)
	return r
}

func publish(t testing.TB, h *Hub, id StreamID, tracks []*Track) *Stream {
	t.Helper()
	s, err := h.Publish(id)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	t.Cleanup(s.Close)
	s.SetTracks(tracks)
	return s
}

// waitFor polls cond for up to 3 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
