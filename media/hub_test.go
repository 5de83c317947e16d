package media

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// liveSource writes a keyframe then P frames every 10 ms until ctx ends.
func liveSource(starts *atomic.Int32, stops *atomic.Int32) sourceFunc {
	return func(ctx context.Context, s *Stream) error {
		starts.Add(1)
		defer stops.Add(1)
		s.SetTracks(videoTracks())
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for i := int64(0); ; i++ {
			if i%10 == 0 {
				s.Write(idr(i*3600, 200))
			} else {
				s.Write(pframe(i*3600, 100))
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}

func TestOnDemandStartsOnFirstReaderAndStopsWhenIdle(t *testing.T) {
	h := startHub(t, Config{IdleTimeout: 200 * time.Millisecond})
	var starts, stops, built atomic.Int32
	h.RegisterSource("cam/", func(id StreamID) (Source, error) {
		built.Add(1)
		return liveSource(&starts, &stops), nil
	})
	if _, ok := h.Info("cam/1"); ok {
		t.Fatal("stream exists before any reader")
	}
	r1 := subscribe(t, h, "cam/1", ReaderOptions{})
	if u := next(t, r1); !u.Keyframe {
		t.Fatal("first unit is not a keyframe")
	}
	r2 := subscribe(t, h, "cam/1", ReaderOptions{})
	next(t, r2)
	if starts.Load() != 1 || built.Load() != 1 {
		t.Fatalf("starts=%d built=%d, want 1 each", starts.Load(), built.Load())
	}
	info, ok := h.Info("cam/1")
	if !ok || info.Source != SourceOnDemand || info.Readers != 2 {
		t.Fatalf("info = %+v", info)
	}
	r1.Close()
	r2.Close()
	r2.Close()
	time.Sleep(100 * time.Millisecond)
	if stops.Load() != 0 {
		t.Fatal("source stopped before the idle timeout")
	}
	waitFor(t, "idle stop", func() bool { return stops.Load() == 1 })
	waitFor(t, "stream removal", func() bool { _, ok := h.Info("cam/1"); return !ok })

	// A new reader starts it again.
	r3 := subscribe(t, h, "cam/1", ReaderOptions{})
	next(t, r3)
	if starts.Load() != 2 {
		t.Fatalf("starts=%d, want 2", starts.Load())
	}
}

func TestOnDemandReaderDuringIdleStopRestarts(t *testing.T) {
	h := startHub(t, Config{IdleTimeout: 50 * time.Millisecond})
	var starts, stops atomic.Int32
	h.RegisterSource("cam/", func(StreamID) (Source, error) { return liveSource(&starts, &stops), nil })
	r := subscribe(t, h, "cam/2", ReaderOptions{})
	next(t, r)
	r.Close()
	waitFor(t, "idle stop", func() bool { return stops.Load() == 1 })
	r = subscribe(t, h, "cam/2", ReaderOptions{})
	next(t, r)
}

func TestOnDemandRestartsWithBackoff(t *testing.T) {
	const base = 20 * time.Millisecond
	h := startHub(t, Config{ReadyTimeout: 3 * time.Second}, func(h *Hub) {
		h.backoffMin, h.backoffMax = base, 4*base
	})
	var mu sync.Mutex
	var times []time.Time
	h.RegisterSource("flaky/", func(StreamID) (Source, error) {
		return sourceFunc(func(ctx context.Context, s *Stream) error {
			mu.Lock()
			times = append(times, time.Now())
			n := len(times)
			mu.Unlock()
			if n <= 4 {
				return errors.New("camera unreachable")
			}
			s.SetTracks(videoTracks())
			s.Write(idr(0, 100))
			<-ctx.Done()
			return nil
		}), nil
	})
	r := subscribe(t, h, "flaky/1", ReaderOptions{})
	next(t, r)
	mu.Lock()
	defer mu.Unlock()
	want := []time.Duration{base, 2 * base, 4 * base, 4 * base}
	for i, w := range want {
		if d := times[i+1].Sub(times[i]); d < w {
			t.Errorf("restart %d after %v, want ≥ %v", i+1, d, w)
		}
	}
}

func TestSeqAndTimestampContinueAcrossRestart(t *testing.T) {
	h := startHub(t, Config{}, func(h *Hub) { h.backoffMin = 10 * time.Millisecond })
	var run atomic.Int32
	release := make(chan struct{})
	h.RegisterSource("cam/", func(StreamID) (Source, error) {
		return sourceFunc(func(ctx context.Context, s *Stream) error {
			first := run.Add(1) == 1
			s.SetTracks(videoTracks())
			startPTS := int64(0)
			if !first {
				startPTS = 123456 // the camera restarted from another PTS
			}
			for i := range int64(5) {
				if i == 0 {
					s.Write(idr(startPTS, 3000))
				} else {
					s.Write(pframe(startPTS+i*3600, 100))
				}
			}
			if first {
				<-release
				return errors.New("connection reset")
			}
			<-ctx.Done()
			return nil
		}), nil
	})
	r := subscribe(t, h, "cam/3", ReaderOptions{})
	var units []*Unit
	for range 5 {
		units = append(units, next(t, r))
	}
	close(release)
	for range 5 {
		units = append(units, next(t, r))
	}
	var lastSeq uint16
	for i, u := range units {
		for j, p := range u.Packets {
			if (i > 0 || j > 0) && p.SequenceNumber != lastSeq+1 {
				t.Fatalf("unit %d packet %d: seq %d after %d", i, j, p.SequenceNumber, lastSeq)
			}
			lastSeq = p.SequenceNumber
		}
		if i > 0 {
			if d := u.Packets[0].Timestamp - units[i-1].Packets[0].Timestamp; d != 3600 {
				t.Fatalf("unit %d: timestamp step %d, want 3600", i, d)
			}
			if u.Packets[0].SSRC != units[0].Packets[0].SSRC {
				t.Fatal("SSRC changed across restart")
			}
		}
	}
}

func TestAliases(t *testing.T) {
	h := startHub(t, Config{})
	h.Alias("demo/1", "gb/34020000001320000001")
	h.Alias("demo/2", "demo/1")
	s := publish(t, h, "gb/34020000001320000001", videoTracks())
	s.Write(idr(0, 100))
	r := subscribe(t, h, "demo/2", ReaderOptions{})
	if r.ID() != "gb/34020000001320000001" {
		t.Fatalf("reader of %s", r.ID())
	}
	next(t, r)
	if info, ok := h.Info("demo/1"); !ok || info.ID != "gb/34020000001320000001" {
		t.Fatalf("Info(alias) = %+v, %v", info, ok)
	}
	h.Alias("loop/a", "loop/b")
	h.Alias("loop/b", "loop/a")
	if _, err := h.Subscribe(context.Background(), "loop/a", ReaderOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("alias loop: %v", err)
	}
}

func TestEvents(t *testing.T) {
	h := startHub(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	ev := h.Events(ctx)
	s, err := h.Publish("test/ev")
	if err != nil {
		t.Fatal(err)
	}
	s.SetTracks(videoTracks())
	s.Close()
	for _, want := range []bool{true, false} {
		select {
		case e := <-ev:
			if e.Stream != "test/ev" || e.Online != want || e.Time.IsZero() {
				t.Fatalf("event %+v, want online=%v", e, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no event")
		}
	}
	cancel()
	waitFor(t, "channel close", func() bool {
		select {
		case _, ok := <-ev:
			return !ok
		default:
			return false
		}
	})
}

func TestSubscribeErrors(t *testing.T) {
	h := startHub(t, Config{ReadyTimeout: 100 * time.Millisecond})
	ctx := context.Background()
	if _, err := h.Subscribe(ctx, "nobody/1", ReaderOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no factory: %v", err)
	}
	h.RegisterSource("gb/", func(StreamID) (Source, error) { return nil, ErrNotFound })
	if _, err := h.Subscribe(ctx, "gb/1", ReaderOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("factory not found: %v", err)
	}
	h.RegisterSource("gb/dead", func(StreamID) (Source, error) {
		return sourceFunc(func(context.Context, *Stream) error { return ErrNotFound }), nil
	})
	if _, err := h.Subscribe(ctx, "gb/dead/1", ReaderOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("source not found: %v", err)
	}
	h.RegisterSource("slow/", func(StreamID) (Source, error) {
		return sourceFunc(func(ctx context.Context, _ *Stream) error { <-ctx.Done(); return nil }), nil
	})
	if _, err := h.Subscribe(ctx, "slow/1", ReaderOptions{}); !errors.Is(err, ErrNotReady) {
		t.Fatalf("slow source: %v", err)
	}
	if _, err := h.Publish("test/p"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Publish("test/p"); !errors.Is(err, ErrPublisherSet) {
		t.Fatalf("second publisher: %v", err)
	}
}

func TestHubCloseEndsReaders(t *testing.T) {
	h := NewHub(Config{Logger: quietLogger()})
	done := make(chan error, 1)
	go func() { done <- h.Run(context.Background()) }()
	var starts, stops atomic.Int32
	h.RegisterSource("cam/", func(StreamID) (Source, error) { return liveSource(&starts, &stops), nil })
	r := subscribe(t, h, "cam/9", ReaderOptions{})
	next(t, r)
	h.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if stops.Load() != 1 {
		t.Fatal("source not stopped")
	}
	for {
		if _, err := r.Next(context.Background()); err != nil {
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("Next after hub close: %v", err)
			}
			break
		}
	}
	if _, err := h.Publish("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
}
