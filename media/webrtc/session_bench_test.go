//go:build linux

package webrtc

import (
	"context"
	"log/slog"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"

	"pingan/media"
)

// BenchmarkSessionWrite measures the whole per-packet write path of a WHEP
// session — outTrack, interceptors (sender reports, NACK history), SRTP,
// ICE, unit batching, sendmmsg — as the CPU time of the writing thread per
// packet, split into user and sys (loopback bills the viewers' kernel
// receive path to it as well). Thread CPU time is what other load on the
// machine disturbs least. Units are 2 Mbit/s-sized frames of 7 packets
// round-robin over pion viewers in this process.
//
//	go test -run '^$' -bench SessionWrite -benchtime 100000x ./media/webrtc
func BenchmarkSessionWrite(b *testing.B) {
	const viewers = 8
	e := newTestEngineCfg(b, Config{Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sessions []*Session
	for range viewers {
		v, offer := newViewer(b, false)
		defer v.pc.Close()
		s, answer, err := e.NewWHEPSession(ctx, offer, newFakeReader(sampleTracks(b)))
		must(b, err)
		defer s.Close()
		v.answer(b, answer)
		sessions = append(sessions, s)
	}
	for _, s := range sessions {
		select {
		case <-s.connected:
		case <-time.After(10 * time.Second):
			b.Fatal("viewer did not connect")
		}
		waitFor(b, 5*time.Second, "video track bound", func() bool { return s.tracks[0].binding.Load() != nil })
	}
	const perUnit = 7
	payload := make([]byte, 1200)
	units := make([]*media.Unit, 0, 60) // 2 s at 30 fps, a keyframe first
	for i := range cap(units) {
		u := &media.Unit{Track: 0, Keyframe: i == 0}
		for j := range perUnit {
			p := payload
			if j == perUnit-1 {
				p = payload[:700]
			}
			u.Packets = append(u.Packets, &rtp.Packet{Header: rtp.Header{
				Version: 2, PayloadType: 96, SequenceNumber: uint16(i*perUnit + j),
				Timestamp: uint32(i * 3000), Marker: j == perUnit-1,
			}, Payload: p})
		}
		units = append(units, u)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	u0, s0 := threadCPU()
	b.ResetTimer()
	pkts := 0
	for i := 0; pkts < b.N; i++ {
		u := units[(i/viewers)%len(units)]
		s := sessions[i%viewers]
		if _, err := s.writeUnit(s.tracks[0], u); err != nil {
			b.Fatal(err)
		}
		pkts += len(u.Packets)
		if i%(viewers*len(units)) == viewers*len(units)-1 {
			rewrite(units) // the next loop continues the sequence numbers
		}
	}
	b.StopTimer()
	u1, s1 := threadCPU()
	b.ReportMetric(float64(u1-u0)/float64(pkts), "usr-ns/pkt")
	b.ReportMetric(float64(s1-s0)/float64(pkts), "sys-ns/pkt")
}

// rewrite moves the units' sequence numbers and timestamps past their end.
func rewrite(units []*media.Unit) {
	n := 0
	for _, u := range units {
		n += len(u.Packets)
	}
	for _, u := range units {
		for _, p := range u.Packets {
			p.SequenceNumber += uint16(n)
			p.Timestamp += uint32(len(units) * 3000)
		}
	}
}

// threadCPU is the calling thread's user and sys CPU time.
func threadCPU() (usr, sys time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
