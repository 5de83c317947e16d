package webrtc

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// latencyBuckets: bucket i < 64 holds [i, i+1) µs; above that each power of
// two of microseconds is split into 16 linear sub-buckets (≤ 6.25% error).
const (
	latencyLinear  = 64
	latencySub     = 16
	latencyBuckets = latencyLinear + (40-6)*latencySub
)

// LatencyHistogram counts durations (publisher Stream.Write → a viewer's
// WriteRTP, see Config.WriteLatency). It is safe for concurrent use and
// allocation-free; the zero value is ready.
type LatencyHistogram struct {
	counts [latencyBuckets]atomic.Uint64
	max    atomic.Int64
}

func latencyBucket(us uint64) int {
	if us < latencyLinear {
		return int(us)
	}
	e := bits.Len64(us) - 1 // ≥ 6
	sub := (us >> (e - 4)) & (latencySub - 1)
	i := latencyLinear + (e-6)*latencySub + int(sub)
	return min(i, latencyBuckets-1)
}

// bucketUpper is the upper bound of bucket i.
func bucketUpper(i int) time.Duration {
	if i < latencyLinear {
		return time.Duration(i+1) * time.Microsecond
	}
	e := (i-latencyLinear)/latencySub + 6
	sub := uint64((i - latencyLinear) % latencySub)
	us := (uint64(1) << e) + (sub+1)<<(e-4)
	return time.Duration(us) * time.Microsecond
}

// Record adds one duration.
func (h *LatencyHistogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[latencyBucket(uint64(d/time.Microsecond))].Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Count is how many durations were recorded.
func (h *LatencyHistogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Quantile returns the upper bound of the bucket holding quantile q (0…1).
func (h *LatencyHistogram) Quantile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(bucketUpper(i), time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// Max is the largest duration recorded.
func (h *LatencyHistogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Reset clears the histogram.
func (h *LatencyHistogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.max.Store(0)
}
