package rtpin

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"

	"pingan/media/ps"
)

const testSSRC = 107000042 // y=0107000042

func checkFrames(t *testing.T, v []ps.Frame, n int) {
	t.Helper()
	if !v[0].Keyframe {
		t.Errorf("first video frame is not a keyframe")
	}
	for i, f := range v[:n] {
		if f.Codec != ps.H264 || len(f.NALUs) == 0 {
			t.Fatalf("frame %d: codec %q, %d NALUs", i, f.Codec, len(f.NALUs))
		}
		if want := int64(i) * 90000 / 25; f.PTS != want {
			t.Fatalf("frame %d: PTS %d, want %d", i, f.PTS, want)
		}
	}
}

func TestReceiveUDP(t *testing.T) {
	c := newCollector()
	r, err := New(Config{IP: "127.0.0.1", SSRC: testSSRC, OnFrame: c.add, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	stop, _ := start(t, r)
	conn, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(r.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, p := range psPackets(t, 30, testSSRC) {
		if _, err := conn.Write(marshal(t, p)); err != nil {
			t.Fatal(err)
		}
	}
	checkFrames(t, c.waitVideo(t, 29), 29)
	if c.audio() == 0 {
		t.Error("no audio frames")
	}
	st := r.Stats()
	if st.SSRC != testSSRC || st.Source == "" || st.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestReceiveUDPReorder shuffles packets within small windows and drops
// one: frames before the loss arrive intact, the lost frame's GOP is
// skipped until the next keyframe.
func TestReceiveUDPReorder(t *testing.T) {
	c := newCollector()
	r, err := New(Config{IP: "127.0.0.1", SSRC: testSSRC, OnFrame: c.add, ReorderWindow: 16})
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	pkts := psPackets(t, 60, testSSRC)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 8; i+8 <= len(pkts); i += 8 { // the first packet comes first: it sets the sequence

		rng.Shuffle(8, func(a, b int) { pkts[i+a], pkts[i+b] = pkts[i+b], pkts[i+a] })
	}
	conn, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(r.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i, p := range pkts {
		if i == len(pkts)/4 { // a loss inside the first GOP
			continue
		}
		conn.Write(marshal(t, p))
		if i%50 == 0 {
			time.Sleep(time.Millisecond) // let the socket buffer drain
		}
	}
	// 60 frames: keyframes at 0 and 50. Frames before the loss, then 50..
	time.Sleep(300 * time.Millisecond)
	v := c.video()
	if len(v) < 15 || !v[0].Keyframe || v[0].PTS != 0 {
		t.Fatalf("got %d frames, stats %+v", len(v), r.Stats())
	}
	resumed := false
	for i := 1; i < len(v); i++ {
		if d := v[i].PTS - v[i-1].PTS; d != 3600 {
			if v[i].Keyframe && v[i].PTS == 50*3600 {
				resumed = true
				continue
			}
			t.Fatalf("frame %d: PTS jump %d without a keyframe", i, d)
		}
	}
	if !resumed {
		t.Errorf("did not resume at the keyframe after the loss; last PTS %d", v[len(v)-1].PTS)
	}
	if st := r.Stats(); st.Lost != 1 {
		t.Errorf("lost %d, want 1", st.Lost)
	}
}

func TestReceiveTCPPassive(t *testing.T) {
	for _, interleaved := range []bool{false, true} {
		t.Run("interleaved="+strconv.FormatBool(interleaved), func(t *testing.T) {
			c := newCollector()
			r, err := New(Config{Mode: ModeTCPPassive, IP: "127.0.0.1", SSRC: testSSRC, AllowIP: "127.0.0.1", OnFrame: c.add})
			if err != nil {
				t.Fatal(err)
			}
			stop, _ := start(t, r)
			conn := dialTCP(t, "127.0.0.1:"+strconv.Itoa(r.Port()))
			for _, p := range psPackets(t, 20, testSSRC) {
				if _, err := conn.Write(rfc4571(marshal(t, p), interleaved)); err != nil {
					t.Fatal(err)
				}
			}
			checkFrames(t, c.waitVideo(t, 19), 19)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReceiveTCPActive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := newCollector()
	r, err := New(Config{Mode: ModeTCPActive, SSRC: testSSRC, OnFrame: c.add})
	if err != nil {
		t.Fatal(err)
	}
	r.SetRemote(ln.Addr().String())
	stop, _ := start(t, r)
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, p := range psPackets(t, 20, testSSRC) {
		conn.Write(rfc4571(marshal(t, p), false))
	}
	checkFrames(t, c.waitVideo(t, 19), 19)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestSSRC: a device that ignores y= is accepted after a few packets,
// unless strict; strict mode then times out.
func TestSSRC(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run("strict="+strconv.FormatBool(strict), func(t *testing.T) {
			c := newCollector()
			r, err := New(Config{IP: "127.0.0.1", SSRC: testSSRC, StrictSSRC: strict, OnFrame: c.add, Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			_, done := start(t, r)
			conn, _ := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(r.Port()))
			defer conn.Close()
			for _, p := range psPackets(t, 10, 12345) {
				conn.Write(marshal(t, p))
			}
			if strict {
				err := <-done
				done <- err // for the cleanup
				if !errors.Is(err, ErrMediaTimeout) {
					t.Fatalf("Run: %v, want ErrMediaTimeout", err)
				}
				if st := r.Stats(); st.WrongSSRC == 0 || st.Frames != 0 {
					t.Errorf("stats %+v", st)
				}
				return
			}
			checkFrames(t, c.waitVideo(t, 9), 9)
			if r.Stats().SSRC != 12345 {
				t.Errorf("SSRC %d", r.Stats().SSRC)
			}
		})
	}
}

func TestMediaTimeout(t *testing.T) {
	for _, mode := range []Mode{ModeUDP, ModeTCPPassive, ModeTCPActive} {
		t.Run(string(mode), func(t *testing.T) {
			r, err := New(Config{Mode: mode, IP: "127.0.0.1", Timeout: 200 * time.Millisecond, Remote: "127.0.0.1:1"})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			t0 := time.Now()
			err = r.Run(context.Background())
			if !errors.Is(err, ErrMediaTimeout) {
				t.Fatalf("Run: %v", err)
			}
			if d := time.Since(t0); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestTCPReconnect: after the device closes its connection the receiver
// takes the next one.
func TestTCPReconnect(t *testing.T) {
	c := newCollector()
	r, err := New(Config{Mode: ModeTCPPassive, IP: "127.0.0.1", OnFrame: c.add})
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	pkts := psPackets(t, 20, testSSRC)
	addr := "127.0.0.1:" + strconv.Itoa(r.Port())
	c1 := dialTCP(t, addr)
	for _, p := range pkts[:len(pkts)/2] {
		c1.Write(rfc4571(marshal(t, p), false))
	}
	c1.Close()
	c2 := dialTCP(t, addr)
	for _, p := range psPackets(t, 20, testSSRC) {
		c2.Write(rfc4571(marshal(t, p), false))
	}
	v := c.waitVideo(t, 25)
	if !v[0].Keyframe {
		t.Error("first frame not a keyframe")
	}
}

func TestCloseBeforeRun(t *testing.T) {
	p, err := NewPorts(31000, 31010)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Ports: p})
	if err != nil {
		t.Fatal(err)
	}
	if r.Port() < 31000 || r.Port() > 31010 || p.InUse() != 1 {
		t.Fatalf("port %d, in use %d", r.Port(), p.InUse())
	}
	r.Close()
	r.Close()
	if p.InUse() != 0 {
		t.Error("port not released")
	}
	if err := r.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}
