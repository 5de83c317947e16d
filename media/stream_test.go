package media

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReaderStartsWithGOP(t *testing.T) {
	h := startHub(t, Config{})
	s := publish(t, h, "test/gop", videoTracks())
	s.Write(pframe(0, 100)) // before any keyframe: not cached
	s.Write(idr(3600, 3000))
	s.Write(audio(400))
	s.Write(pframe(7200, 100))

	r := subscribe(t, h, "test/gop", ReaderOptions{})
	if n := queued(r); n != 3 {
		t.Fatalf("queued at subscribe = %d, want 3 (the GOP)", n)
	}
	u := next(t, r)
	if !u.Keyframe || u.Track != 0 {
		t.Fatalf("first unit: keyframe=%v track=%d, want the keyframe", u.Keyframe, u.Track)
	}
	if len(u.NALUs) != 3 || !bytes.Equal(u.NALUs[0], testSPS) || !bytes.Equal(u.NALUs[1], testPPS) {
		t.Fatalf("keyframe NALUs = %d, want SPS, PPS, IDR", len(u.NALUs))
	}
	if len(u.Packets) < 3 || !u.Packets[len(u.Packets)-1].Marker {
		t.Fatalf("keyframe packets = %d, want fragmented with marker on last", len(u.Packets))
	}
	for _, p := range u.Packets {
		if len(p.Payload) > PayloadMaxSize {
			t.Fatalf("payload %d > %d", len(p.Payload), PayloadMaxSize)
		}
	}
	if u := next(t, r); u.Track != 1 {
		t.Fatalf("second unit track %d, want audio", u.Track)
	}
	if u := next(t, r); u.Track != 0 || u.Keyframe {
		t.Fatalf("third unit: want the P frame")
	}
	s.Write(pframe(10800, 100))
	if u := next(t, r); u.PTS != 10800 {
		t.Fatalf("live unit PTS %d", u.PTS)
	}
}

func TestReadersReceiveEveryUnitInOrder(t *testing.T) {
	h := startHub(t, Config{ReaderQueue: 4096})
	s := publish(t, h, "test/order", videoTracks())
	s.Write(idr(0, 2000))
	const readers, units = 8, 1000
	rs := make([]*Reader, readers)
	for i := range rs {
		rs[i] = subscribe(t, h, "test/order", ReaderOptions{})
	}
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- readAllInOrder(r, units+1)
		}()
	}
	for i := 1; i <= units; i++ {
		if i%3 == 0 {
			s.Write(audio(int64(i) * 160))
		} else {
			s.Write(pframe(int64(i)*3600, 1500))
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// readAllInOrder reads n units and checks per-track RTP continuity.
func readAllInOrder(r *Reader, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lastSeq := map[int]uint16{}
	for i := range n {
		u, err := r.Next(ctx)
		if err != nil {
			return err
		}
		for _, p := range u.Packets {
			if prev, ok := lastSeq[u.Track]; ok && p.SequenceNumber != prev+1 {
				return errors.New("sequence gap at unit " + itoa(i))
			}
			lastSeq[u.Track] = p.SequenceNumber
		}
	}
	return nil
}

func itoa(i int) string { return time.Duration(i).String() }

func TestStalledReaderDoesNotSlowOthers(t *testing.T) {
	h := startHub(t, Config{})
	s := publish(t, h, "test/stall", videoTracks())
	var kfRequests atomic.Int32
	s.OnKeyframeRequest(func() { kfRequests.Add(1) })
	s.Write(idr(0, 500))

	stalled := subscribe(t, h, "test/stall", ReaderOptions{Queue: 16})
	live := subscribe(t, h, "test/stall", ReaderOptions{Queue: 1024})
	const units = 400
	done := make(chan error, 1)
	go func() { done <- readAllInOrder(live, units+1) }()

	start := time.Now()
	for i := 1; i <= units; i++ {
		if i%100 == 0 {
			s.Write(idr(int64(i)*3600, 500))
		} else {
			s.Write(pframe(int64(i)*3600, 200))
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("publisher took %v for %d units", d, units)
	}
	if err := <-done; err != nil {
		t.Fatalf("live reader: %v", err)
	}
	if stalled.Dropped() == 0 {
		t.Fatal("stalled reader dropped nothing")
	}
	waitFor(t, "keyframe request", func() bool { return kfRequests.Load() >= 1 })

	// It drains its 16 queued units, then resumes at a keyframe.
	for range 16 {
		next(t, stalled)
	}
	s.Write(pframe(401*3600, 200)) // still skipping
	s.Write(idr(402*3600, 500))
	if u := next(t, stalled); !u.Keyframe || u.PTS != 402*3600 {
		t.Fatalf("after overflow: keyframe=%v PTS=%d, want keyframe at %d", u.Keyframe, u.PTS, 402*3600)
	}
	info, _ := h.Info("test/stall")
	if info.UnitsDropped == 0 || info.Readers != 2 {
		t.Fatalf("info = %+v", info)
	}
}

func TestKeyframeRequestsMergeAndRateLimit(t *testing.T) {
	h := startHub(t, Config{})
	s := publish(t, h, "test/kf", videoTracks())
	var n atomic.Int32
	s.OnKeyframeRequest(func() { n.Add(1) })
	for range 100 {
		s.RequestKeyframe()
	}
	waitFor(t, "first request", func() bool { return n.Load() == 1 })
	for range 100 {
		s.RequestKeyframe()
	}
	time.Sleep(200 * time.Millisecond)
	if got := n.Load(); got != 1 {
		t.Fatalf("handler called %d times within 500 ms, want 1", got)
	}
	waitFor(t, "second request after the interval", func() bool { return n.Load() == 2 })
}

func TestParameterSetsUpdateTrack(t *testing.T) {
	h := startHub(t, Config{})
	s := publish(t, h, "test/params", videoTracks())
	newSPS := []byte{0x67, 0x64, 0x00, 0x28, 0xac}
	u := idr(0, 100)
	u.NALUs = append([][]byte{{}, newSPS}, u.NALUs...) // an empty NALU is dropped
	s.Write(u)
	if got := s.Tracks()[0].SPS; !bytes.Equal(got, newSPS) {
		t.Fatalf("track SPS = %x, want %x", got, newSPS)
	}
	if len(u.NALUs) != 3 || !bytes.Equal(u.NALUs[1], testPPS) {
		t.Fatalf("keyframe NALUs %d, want SPS, PPS (added), IDR", len(u.NALUs))
	}
	if !u.Keyframe {
		t.Fatal("IDR not detected as keyframe")
	}
}

func TestWriteAfterClose(t *testing.T) {
	h := startHub(t, Config{})
	s, err := h.Publish("test/closed")
	if err != nil {
		t.Fatal(err)
	}
	s.SetTracks(videoTracks())
	s.Write(idr(0, 100))
	r := subscribe(t, h, "test/closed", ReaderOptions{})
	s.Close()
	s.Close()
	s.Write(pframe(3600, 100))
	s.Write(&Unit{Track: 7})
	s.Write(nil)
	next(t, r) // the cached keyframe is still delivered
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := r.Next(ctx); !isEOF(err) {
		t.Fatalf("Next after publisher closed: %v, want io.EOF", err)
	}
	r.Close()
	if _, err := r.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v, want ErrClosed", err)
	}
	if _, ok := h.Info("test/closed"); ok {
		t.Fatal("closed stream still listed")
	}
}

func TestStreamStats(t *testing.T) {
	h := startHub(t, Config{})
	s := publish(t, h, "test/stats", videoTracks())
	for i := range 25 {
		s.Write(pframe(int64(i)*3600, 1000))
		time.Sleep(20 * time.Millisecond)
	}
	info, ok := h.Info("test/stats")
	if !ok || !info.Online || info.Source != SourcePush || len(info.Codecs) != 2 {
		t.Fatalf("info = %+v", info)
	}
	if info.Bitrate <= 0 || info.FPS <= 0 || info.LastPacket.IsZero() || info.UnitsWritten != 25 {
		t.Fatalf("stats = %+v", info)
	}
	if all := h.Streams(); len(all) != 1 || all[0].ID != "test/stats" {
		t.Fatalf("Streams = %+v", all)
	}
}
