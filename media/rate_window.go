package media

import (
	"sync"
	"time"
)

// Sliding window for stream statistics: rateBuckets buckets of rateBucket.
const (
	rateBucket  = 250 * time.Millisecond
	rateBuckets = 8 // 2 s
)

// rateWindow measures bits per second and video frames per second over a
// sliding window of fixed buckets.
type rateWindow struct {
	mu      sync.Mutex
	first   int64 // bucket number of the first sample, 0 = none yet
	buckets [rateBuckets]rateSlot
}

type rateSlot struct {
	n      int64 // bucket number (time / rateBucket)
	bytes  int64
	frames int64
}

func (w *rateWindow) add(now time.Time, bytes int, frame bool) {
	n := now.UnixNano() / int64(rateBucket)
	w.mu.Lock()
	if w.first == 0 {
		w.first = n
	}
	b := &w.buckets[n%rateBuckets]
	if b.n != n {
		*b = rateSlot{n: n}
	}
	b.bytes += int64(bytes)
	if frame {
		b.frames++
	}
	w.mu.Unlock()
}

// rates returns bits/s and frames/s over the window ending at now (the
// current bucket excluded, being incomplete).
func (w *rateWindow) rates(now time.Time) (bitrate int64, fps float64) {
	n := now.UnixNano() / int64(rateBucket)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.first == 0 {
		return 0, 0
	}
	var bytes, frames int64
	for _, b := range w.buckets {
		if b.n < n && b.n >= n-rateBuckets+1 {
			bytes += b.bytes
			frames += b.frames
		}
	}
	span := min(n-w.first, rateBuckets-1) // complete buckets covered
	if span <= 0 {
		return 0, 0
	}
	secs := float64(span) * rateBucket.Seconds()
	return int64(float64(bytes*8) / secs), float64(frames) / secs
}
