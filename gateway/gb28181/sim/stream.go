package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"github.com/pion/rtp"

	"pingan/internal/sample"
	"pingan/media/ps"
)

// mediaWriter sends the RTP packets of one frame.
type mediaWriter interface {
	writeFrame(pkts []*rtp.Packet) error
	io.Closer
}

// udpWriter sends one datagram per packet.
type udpWriter struct{ c *net.UDPConn }

func (w udpWriter) writeFrame(pkts []*rtp.Packet) error {
	for _, p := range pkts {
		b, err := p.Marshal()
		if err != nil {
			return err
		}
		if _, err := w.c.Write(b); errors.Is(err, net.ErrClosed) {
			return err
		} // other errors (ICMP port unreachable while the platform is not listening): keep going
	}
	return nil
}

func (w udpWriter) Close() error { return w.c.Close() }

// tcpWriter frames packets per RFC 4571 (2-byte length) and writes a frame
// at a time.
type tcpWriter struct {
	c   net.Conn
	buf []byte
}

func (w *tcpWriter) writeFrame(pkts []*rtp.Packet) error {
	w.buf = w.buf[:0]
	for _, p := range pkts {
		n := p.MarshalSize()
		w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(n))
		off := len(w.buf)
		w.buf = append(w.buf, make([]byte, n)...)
		if _, err := p.MarshalTo(w.buf[off:]); err != nil {
			return err
		}
	}
	if err := w.c.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	_, err := w.c.Write(w.buf)
	return err
}

func (w *tcpWriter) Close() error { return w.c.Close() }

// connect opens the media path after the ACK: the UDP socket is ready; for
// TCP it dials the platform (3 tries a second apart, GB/T 28181-2022) or
// accepts the platform's connection.
func (s *session) connect() (mediaWriter, error) {
	switch s.mode {
	case mediaUDP:
		return udpWriter{s.udp}, nil
	case mediaTCPListen:
		defer s.ln.Close()
		if err := s.ln.SetDeadline(time.Now().Add(ackTimeout)); err != nil {
			return nil, err
		}
		c, err := s.ln.Accept()
		if err != nil {
			return nil, fmt.Errorf("accept: %w", err)
		}
		return &tcpWriter{c: c}, nil
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(s.u.cfg.LocalIP)}, Timeout: 3 * time.Second}
	var err error
	for try := range 3 {
		if try > 0 && !sleep(s.ctx, time.Second) {
			return nil, s.ctx.Err()
		}
		var c net.Conn
		if c, err = d.DialContext(s.ctx, "tcp", s.remote); err == nil {
			return &tcpWriter{c: c}, nil
		}
	}
	return nil, fmt.Errorf("dial: %w", err)
}

// stream sends the sample in real time, as PS over RTP (H.264 on 0xE0,
// G.711 A-law on 0xC0, PT 96, 90 kHz): a video frame every 40 ms and 20 ms
// of audio every 20 ms. A keyframe request jumps to the sample's next
// keyframe. It returns true when the device should send BYE.
func (s *session) stream(w mediaWriter) bool {
	vid, err := sample.Video()
	if err != nil {
		s.log.Error("sample", "err", err)
		return false
	}
	aud := sample.Audio()
	const chunk = 160 // A-law samples in 20 ms
	var mux ps.Muxer
	pk := ps.Packetizer{SSRC: s.ssrc, PayloadType: 96, Sequence: uint16(rand.IntN(1 << 16))}
	cfg := s.u.cfg
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var vi, ai int64 // frames and audio chunks sent
	idx := 0         // next sample frame
	for {
		el := time.Since(start)
		if cfg.SendByeAfter > 0 && el >= cfg.SendByeAfter {
			return true
		}
		if cfg.DropMediaAfter > 0 && el >= cfg.DropMediaAfter {
			s.log.Info("media dropped (simulated)")
			<-s.ctx.Done()
			return false
		}
		for time.Duration(vi)*time.Second/sample.FPS <= el {
			if s.keyframe.Swap(false) {
				idx = nextKeyframe(vid, idx)
			}
			f := vid[idx]
			idx = (idx + 1) % len(vid)
			pts := vi * 90000 / sample.FPS
			b := mux.Video(ps.H264, f.NALUs, pts, f.Keyframe)
			if cfg.NoPSM {
				b = stripPSM(b)
			}
			if err := w.writeFrame(pk.Packetize(b, uint32(pts))); err != nil {
				return s.writeFailed(err)
			}
			vi++
		}
		for time.Duration(ai)*sample.AudioChunk <= el && len(aud) >= chunk {
			off := (ai % int64(len(aud)/chunk)) * chunk
			pts := ai * chunk * 90000 / 8000
			if err := w.writeFrame(pk.Packetize(mux.Audio(ps.PCMA, aud[off:off+chunk], pts), uint32(pts))); err != nil {
				return s.writeFailed(err)
			}
			ai++
		}
		select {
		case <-s.ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

func (s *session) writeFailed(err error) bool {
	if s.ctx.Err() == nil {
		s.log.Warn("media write failed; ending the session", "err", err)
		return true
	}
	return false
}

// nextKeyframe returns the index of the first keyframe at or after i.
func nextKeyframe(vid []sample.Frame, i int) int {
	for k := range vid {
		if j := (i + k) % len(vid); vid[j].Keyframe {
			return j
		}
	}
	return i
}

// stripPSM removes the program stream map that follows a pack header, for
// devices that never send one (gb28181.md §13: the hub must sniff the codec).
func stripPSM(b []byte) []byte {
	if len(b) < 14 || b[3] != 0xBA {
		return b
	}
	i := 14 + int(b[13]&7) // pack header + stuffing
	out := append([]byte(nil), b[:i]...)
	for i+6 <= len(b) && b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 && (b[i+3] == 0xBB || b[i+3] == 0xBC) {
		end := min(i+6+int(binary.BigEndian.Uint16(b[i+4:])), len(b))
		if b[i+3] == 0xBB {
			out = append(out, b[i:end]...)
		}
		i = end
	}
	return append(out, b[i:]...)
}
