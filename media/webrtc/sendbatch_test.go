package webrtc

import (
	"bytes"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/pion/transport/v5/stdnet"
)

// TestUnitBatchDelivers sends one queued unit of mixed sizes (FU-A
// fragments, a short last fragment, a second NALU) through a real socket
// and checks that the receiver gets every datagram, in order, unchanged,
// with GSO and without.
func TestUnitBatchDelivers(t *testing.T) {
	for _, gso := range []bool{true, false} {
		t.Run(map[bool]string{true: "gso", false: "sendmmsg"}[gso], func(t *testing.T) {
			rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			must(t, err)
			defer rx.Close()
			std, err := stdnet.NewNet()
			must(t, err)
			reg := &sendRegistry{}
			n := &unitNet{Net: std, reg: reg, gso: gso, mmsg: !gso}
			tc, err := n.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			must(t, err)
			defer tc.Close()
			c := tc.(*unitConn)
			if gso && !c.gso.Load() {
				t.Skip("kernel without UDP GSO")
			}
			dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
			q := reg.register(dst)
			if q == nil || reg.register(dst) != nil {
				t.Fatal("register: want one queue per address")
			}

			var sent [][]byte
			for i, size := range []int{1200, 1200, 1200, 700, 1200, 1200, 1300, 90, 90, 12} {
				sent = append(sent, bytes.Repeat([]byte{byte(i + 1)}, size))
			}
			q.begin()
			for _, p := range sent {
				if n, err := c.WriteToAddrPort(p, dst); err != nil || n != len(p) {
					t.Fatalf("queued write: %d, %v", n, err)
				}
				p[0] = 0xee // the caller reuses its buffer at once
			}
			must(t, q.end())
			// Not batching: goes out directly.
			direct := []byte("after the unit")
			if _, err := c.WriteToAddrPort(direct, dst); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 2000)
			must(t, rx.SetReadDeadline(time.Now().Add(5*time.Second)))
			for i, p := range append(sent, direct) {
				n, err := rx.Read(buf)
				if err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				want := p
				if i < len(sent) {
					want = append([]byte{byte(i + 1)}, p[1:]...)
				}
				if !bytes.Equal(buf[:n], want) {
					t.Fatalf("datagram %d: got %d bytes starting % x, want %d starting % x", i, n, buf[:min(n, 4)], len(want), want[:4])
				}
			}
			if got := reg.batched.Load(); got != uint64(len(sent)) {
				t.Errorf("batched %d packets, want %d", got, len(sent))
			}
			if gso && reg.messages.Load() >= uint64(len(sent)) {
				t.Errorf("GSO: %d messages for %d packets", reg.messages.Load(), len(sent))
			}
			reg.unregister(q)
			if _, ok := reg.m.Load(dst); ok {
				t.Error("queue still registered")
			}
		})
	}
}

// TestUnitBatchBigUnit queues more than one batch holds (a keyframe):
// the queue flushes early and nothing is lost.
func TestUnitBatchBigUnit(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	defer rx.Close()
	must(t, rx.SetReadBuffer(4<<20))
	std, err := stdnet.NewNet()
	must(t, err)
	reg := &sendRegistry{}
	tc, err := (&unitNet{Net: std, reg: reg, gso: true}).ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	defer tc.Close()
	c := tc.(*unitConn)
	dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	q := reg.register(dst)
	const count = 200 // 240 KB
	q.begin()
	for i := range count {
		p := bytes.Repeat([]byte{byte(i)}, 1200)
		if _, err := c.WriteToAddrPort(p, dst); err != nil {
			t.Fatal(err)
		}
	}
	must(t, q.end())
	buf := make([]byte, 2000)
	must(t, rx.SetReadDeadline(time.Now().Add(5*time.Second)))
	for i := range count {
		n, err := rx.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", i, count, err)
		}
		if n != 1200 || buf[0] != byte(i) {
			t.Fatalf("datagram %d: %d bytes, first %d", i, n, buf[0])
		}
	}
}

func FuzzGSORuns(f *testing.F) {
	f.Add([]byte{100, 100, 100, 50, 100, 120, 120, 1})
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, sizes []byte) {
		pkts := make([][]byte, len(sizes))
		for i, s := range sizes {
			pkts[i] = make([]byte, int(s)+1)
		}
		for i := 0; i < len(pkts); {
			j := gsoRunEnd(pkts, i)
			if j <= i || j > len(pkts) {
				t.Fatalf("run %d..%d of %d", i, j, len(pkts))
			}
			for k := i + 1; k < j; k++ {
				last := k == j-1
				if len(pkts[k]) > len(pkts[i]) || (!last && len(pkts[k]) != len(pkts[i])) {
					t.Fatalf("run %d..%d: packet %d has %d bytes, first %d", i, j, k, len(pkts[k]), len(pkts[i]))
				}
			}
			i = j
		}
	})
}

// The registry keys are unmapped: a write to ::ffff:127.0.0.1 finds the
// queue of 127.0.0.1.
func TestUnitBatchMappedAddress(t *testing.T) {
	reg := &sendRegistry{}
	dst := netip.MustParseAddrPort("127.0.0.1:5000")
	q := reg.register(dst)
	q.begin()
	c := &unitConn{reg: reg, mmsg: true} // no socket: nothing is flushed here
	if !q.add(c, []byte{1}) {
		t.Fatal("open queue refused a packet")
	}
	mapped := netip.AddrPortFrom(netip.AddrFrom16(dst.Addr().As16()), dst.Port())
	if n, err := c.WriteToAddrPort([]byte{2}, mapped); n != 1 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	if len(q.b.pkts) != 2 {
		t.Fatalf("queued %d packets, want 2", len(q.b.pkts))
	}
	q.b = nil
}

// BenchmarkUnitWrite sends 8-packet units (a 10 KB frame in 1228-byte SRTP
// packets, the last one short) from one ICE socket to 16 receivers
// draining on loopback, as single sendtos, one sendmmsg per unit, and
// sendmmsg with GSO runs. cpu-ns/pkt is the process's user+sys CPU (the
// receivers' reads included; loopback bills their kernel path to the
// sender), which other load on the machine disturbs less than ns/op.
//
//	go test -run '^$' -bench UnitWrite -benchtime 200000x ./media/webrtc
func BenchmarkUnitWrite(b *testing.B) {
	for _, mode := range []string{"single", "sendmmsg", "gso"} {
		b.Run(mode, func(b *testing.B) {
			std, err := stdnet.NewNet()
			must(b, err)
			reg := &sendRegistry{}
			tc, err := (&unitNet{Net: std, reg: reg, gso: mode == "gso", mmsg: mode == "sendmmsg"}).ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			must(b, err)
			defer tc.Close()
			c := tc.(*unitConn)
			must(b, c.SetWriteBuffer(4<<20))
			const receivers, unit = 16, 8
			var dsts []netip.AddrPort
			var qs []*sendQueue
			for range receivers {
				rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				must(b, err)
				must(b, rx.SetReadBuffer(4<<20))
				defer rx.Close()
				go func() {
					buf := make([]byte, 2000)
					for {
						if _, err := rx.Read(buf); err != nil {
							return
						}
					}
				}()
				dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
				dsts = append(dsts, dst)
				qs = append(qs, reg.register(dst))
			}
			pkt := make([]byte, 1228)
			last := pkt[:700]
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i += unit {
				k := (i / unit) % receivers
				if mode != "single" {
					qs[k].begin()
				}
				for j := range unit {
					p := pkt
					if j == unit-1 {
						p = last
					}
					if _, err := c.WriteToAddrPort(p, dsts[k]); err != nil {
						b.Fatal(err)
					}
				}
				if mode != "single" {
					must(b, qs[k].end())
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/pkt")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
