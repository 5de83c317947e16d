package dispatch

import (
	"context"
	"testing"
	"time"
)

// BenchmarkTransition measures one versioned transition (read, checks,
// Apply with case, indexes and event) on each backend.
func BenchmarkTransition(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			svc := newService(b, be.open(b), NewFakeClock(t0))
			ctx := context.Background()
			var c *Case
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if i%64 == 0 { // keep the timeline short, as real cases are
					b.StopTimer()
					c = mustCreate(b, svc, admin, newCase("dispute"))
					b.StartTimer()
				}
				n, err := svc.Transition(ctx, admin, c.Code, TransitionRequest{Action: ActExtend,
					Version: c.Version, Deadline: t0.Add(time.Duration(i+1) * time.Minute)})
				if err != nil {
					b.Fatal(err)
				}
				c = n
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
		})
	}
}

// BenchmarkTransitionParallel is the same with many clients at once, each
// on its own case (how a busy center loads the store).
func BenchmarkTransitionParallel(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			svc := newService(b, be.open(b), NewFakeClock(t0))
			ctx := context.Background()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var c *Case
				for i := 0; pb.Next(); i++ {
					if i%64 == 0 {
						c = mustCreate(b, svc, admin, newCase("dispute"))
					}
					n, err := svc.Transition(ctx, admin, c.Code, TransitionRequest{Action: ActExtend,
						Version: c.Version, Deadline: t0.Add(time.Duration(i+1) * time.Minute)})
					if err != nil {
						b.Error(err)
						return
					}
					c = n
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
		})
	}
}

// BenchmarkCreate measures registering a case (type lookup, code sequence,
// Apply with case, indexes and event) on each backend.
func BenchmarkCreate(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			svc := newService(b, be.open(b), NewFakeClock(t0))
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if _, err := svc.Create(ctx, admin, newCase("dispute")); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
		})
	}
}
