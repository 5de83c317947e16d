package webrtc

import (
	"testing"
	"time"
)

func TestLatencyHistogramQuantiles(t *testing.T) {
	var h LatencyHistogram
	if h.Quantile(0.99) != 0 || h.Count() != 0 {
		t.Fatal("empty histogram is not zero")
	}
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * 10 * time.Microsecond) // 10 µs … 10 ms
	}
	if h.Count() != 1000 || h.Max() != 10*time.Millisecond {
		t.Fatalf("count %d max %s", h.Count(), h.Max())
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5 * time.Millisecond}, {0.99, 9900 * time.Microsecond}, {1, 10 * time.Millisecond}} {
		got := h.Quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.07 {
			t.Errorf("q%.2f = %s, want %s (+6.25%%)", c.q, got, c.want)
		}
	}
	h.Record(-time.Second)
	h.Record(time.Hour)
	if h.Quantile(0) != time.Microsecond || h.Max() != time.Hour {
		t.Errorf("extremes: q0 %s max %s", h.Quantile(0), h.Max())
	}
	h.Reset()
	if h.Count() != 0 || h.Max() != 0 {
		t.Error("reset left counts")
	}
}

func TestLatencyBucketsMonotonic(t *testing.T) {
	prev := time.Duration(0)
	for us := uint64(0); us < 1<<22; us = us*9/8 + 1 {
		i := latencyBucket(us)
		up := bucketUpper(i)
		if time.Duration(us)*time.Microsecond >= up {
			t.Fatalf("%d µs in bucket %d with upper %s", us, i, up)
		}
		if up < prev {
			t.Fatalf("bucket uppers not monotonic at %d µs", us)
		}
		prev = up
	}
}
