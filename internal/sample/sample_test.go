package sample

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestVideoHasKeyframesEveryTwoSeconds(t *testing.T) {
	v, err := Video()
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 8*FPS {
		t.Fatalf("frames = %d, want %d", len(v), 8*FPS)
	}
	for i, f := range v {
		if f.Keyframe != (i%50 == 0) {
			t.Fatalf("frame %d keyframe = %v", i, f.Keyframe)
		}
		if f.Keyframe && (f.NALUs[0][0]&0x1f != 7) {
			t.Fatalf("keyframe %d does not start with SPS", i)
		}
	}
	if len(Audio()) != 8*8000 {
		t.Fatalf("audio samples = %d", len(Audio()))
	}
}

func TestSplitAccessUnitsIgnoresGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, {0, 0, 1}, {0, 0, 0, 1, 0x65}, {1, 2, 3}} {
		_, _ = SplitAccessUnits(b) // must not panic
	}
}

type countSink struct {
	mu           sync.Mutex
	video, aud   int
	lastV, lastA int64
	monotonic    bool
}

func (c *countSink) Video(f Frame, pts int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.video > 0 && pts <= c.lastV {
		c.monotonic = false
	}
	c.video++
	c.lastV = pts
}

func (c *countSink) Audio(a []byte, pts int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.aud++
	c.lastA = pts
}

func TestLoopPacesInRealTime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	s := &countSink{monotonic: true}
	if err := Loop(ctx, s); err != nil {
		t.Fatal(err)
	}
	// 0.4 s at 25 fps is about 10 frames; allow slack for a loaded machine
	if s.video < 5 || s.video > 14 {
		t.Fatalf("video frames in 400ms = %d", s.video)
	}
	if !s.monotonic {
		t.Fatal("video PTS not increasing")
	}
}

func FuzzSplitAccessUnits(f *testing.F) {
	f.Add(h264File[:2000])
	f.Add([]byte{0, 0, 1, 0x67, 0, 0, 1, 0x65, 0x88})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = SplitAccessUnits(b)
	})
}
