package rtpin

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"pingan/internal/sample"
	"pingan/media/ps"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// psPackets muxes the first n sample frames (with audio between them) into
// RTP packets with ssrc.
func psPackets(t *testing.T, n int, ssrc uint32) []*rtp.Packet {
	t.Helper()
	vid, err := sample.Video()
	if err != nil {
		t.Fatal(err)
	}
	aud := sample.Audio()
	var m ps.Muxer
	pk := ps.Packetizer{SSRC: ssrc, Sequence: 65500} // wraps during the test
	var out []*rtp.Packet
	for i := range n {
		f := vid[i%len(vid)]
		pts := int64(i) * 90000 / sample.FPS
		out = append(out, pk.Packetize(m.Video(ps.H264, f.NALUs, pts, f.Keyframe), uint32(pts))...)
		a := aud[(i*320)%(len(aud)-320):][:320] // 40 ms of A-law per video frame
		out = append(out, pk.Packetize(m.Audio(ps.PCMA, a, pts), uint32(pts))...)
	}
	return out
}

func marshal(t *testing.T, p *rtp.Packet) []byte {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rfc4571 frames b with a 2-byte length, or with the 4-byte '$' prefix.
func rfc4571(b []byte, interleaved bool) []byte {
	if interleaved {
		return append([]byte{'$', 0, byte(len(b) >> 8), byte(len(b))}, b...)
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
}

// collector gathers frames from OnFrame.
type collector struct {
	mu     sync.Mutex
	frames []ps.Frame
	ch     chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (c *collector) add(f ps.Frame) {
	c.mu.Lock()
	c.frames = append(c.frames, f)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

func (c *collector) video() []ps.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	var v []ps.Frame
	for _, f := range c.frames {
		if f.Video {
			v = append(v, f)
		}
	}
	return v
}

func (c *collector) audio() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.frames {
		if !f.Video {
			n++
		}
	}
	return n
}

// waitVideo waits until at least n video frames arrived.
func (c *collector) waitVideo(t *testing.T, n int) []ps.Frame {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if v := c.video(); len(v) >= n {
			return v
		}
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("got %d video frames, want %d", len(c.video()), n)
		}
	}
}

// start runs r in the background; the returned func stops it and returns
// Run's error.
func start(t *testing.T, r *Receiver) (stop func() error, done chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- r.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-ch:
			case <-time.After(5 * time.Second):
				err = errors.New("Run did not return")
			}
			r.Close()
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop, ch
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
