package storetest

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"pingan/internal/store"
)

// transition builds a batch shaped like a case transition: the versioned
// case record, a move between two state indexes and one timeline event.
func transition(caseID string, version uint64, now time.Time) *store.Batch {
	value := []byte(fmt.Sprintf(`{"id":%q,"state":"handling","version":%d,"updated":%q}`,
		caseID, version+1, now.Format(time.RFC3339Nano)))
	return new(store.Batch).
		Put("case/"+caseID, value, version).
		IndexRemove("cases/state/routed", caseID).
		IndexAdd("cases/deadline", caseID, float64(now.Add(time.Hour).Unix())).
		Append("events", value)
}

// BenchmarkApply measures sequential case transitions on one case.
func BenchmarkApply(b *testing.B, s store.Store) {
	ctx := context.Background()
	var version uint64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		res, err := s.Apply(ctx, transition("c1", version, time.Now()))
		if err != nil {
			b.Fatal(err)
		}
		version = res.Versions[0]
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "transitions/s")
}

// parallelCallers is how many goroutines BenchmarkApplyParallel runs,
// whatever GOMAXPROCS is: a busy center's concurrent clients.
const parallelCallers = 16

// BenchmarkApplyParallel measures transitions from parallelCallers
// concurrent callers, each on its own case.
func BenchmarkApplyParallel(b *testing.B, s store.Store) {
	ctx := context.Background()
	var ids atomic.Int64
	b.SetParallelism(max(1, parallelCallers/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		caseID := fmt.Sprint("p", ids.Add(1))
		var version uint64
		for pb.Next() {
			res, err := s.Apply(ctx, transition(caseID, version, time.Now()))
			if err != nil {
				b.Error(err)
				return
			}
			version = res.Versions[0]
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "transitions/s")
}
