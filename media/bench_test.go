package media

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkFanout measures one Write (a 1 KB P frame, already small enough
// for one packet) fanned out to n readers, one of them stalled. Readers
// drain in their own goroutines, as in production.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("readers=%d", n), func(b *testing.B) {
			h := startHub(b, Config{})
			s := publish(b, h, StreamID(fmt.Sprintf("bench/%d", n)), videoTracks())
			s.Write(idr(0, 1000))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			subscribe(b, h, s.id, ReaderOptions{}) // stalled: never reads
			for range n - 1 {
				r := subscribe(b, h, s.id, ReaderOptions{})
				go func() {
					for {
						if _, err := r.Next(ctx); err != nil {
							return
						}
					}
				}()
			}
			// Units are read-only once written: one per Write, sharing bytes.
			nalu := pframe(0, 1000).NALUs[0]
			units := make([]*Unit, b.N)
			for i := range units {
				units[i] = &Unit{PTS: int64(i+1) * 3600, NALUs: [][]byte{nalu}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for _, u := range units {
				s.Write(u)
			}
		})
	}
}

// BenchmarkWrite measures packetizing alone: a 30 KB H.264 P frame
// (26 FU-A packets) and a G.711 frame, no readers.
func BenchmarkWrite(b *testing.B) {
	for _, c := range []struct {
		name string
		unit func(i int) *Unit
	}{
		{"h264-30KB", func(i int) *Unit { return pframe(int64(i)*3600, 30000) }},
		{"pcma-160B", func(i int) *Unit { return audio(int64(i) * 160) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := startHub(b, Config{})
			s := publish(b, h, StreamID("bench/"+c.name), videoTracks())
			us := make([]*Unit, b.N)
			for i := range us {
				us[i] = c.unit(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for _, u := range us {
				s.Write(u)
			}
		})
	}
}
