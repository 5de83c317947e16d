package rtpin

import (
	"bytes"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"pingan/media/ps"
)

// Stats counts what a Receiver saw. Counters only grow.
type Stats struct {
	Packets, Bytes uint64 // accepted RTP packets and their payload bytes
	Frames         uint64 // frames delivered to OnFrame
	Lost, Late     uint64 // sequence numbers never seen; late or duplicate packets
	WrongSSRC      uint64 // packets dropped for their SSRC
	Foreign        uint64 // packets or connections refused by AllowIP
	Garbage        uint64 // TCP bytes skipped to resync the framing
	BadRTP         uint64 // datagrams that are not RTP (RTCP is ignored silently)
	DemuxErrors    uint64 // PS errors reported by the demuxer
	SkippedFrames  uint64 // video frames dropped while waiting for a keyframe
	SSRC           uint32 // the SSRC being accepted
	Source         string // where the first packet came from
}

type stats struct {
	packets, bytes, frames, lost, late, wrongSSRC, foreign, garbage atomic.Uint64
	badRTP, demuxErrors, skipped                                    atomic.Uint64
	ssrc                                                            atomic.Uint32
	source                                                          atomic.Pointer[string]
}

// Stats returns the counters so far; safe from any goroutine.
func (r *Receiver) Stats() Stats {
	s := &r.stats
	st := Stats{
		Packets: s.packets.Load(), Bytes: s.bytes.Load(), Frames: s.frames.Load(),
		Lost: s.lost.Load(), Late: s.late.Load(), WrongSSRC: s.wrongSSRC.Load(),
		Foreign: s.foreign.Load(), Garbage: s.garbage.Load(), BadRTP: s.badRTP.Load(),
		DemuxErrors: s.demuxErrors.Load(), SkippedFrames: s.skipped.Load(), SSRC: s.ssrc.Load(),
	}
	if p := s.source.Load(); p != nil {
		st.Source = *p
	}
	return st
}

// consistentSSRC is how many packets in a row must carry the same
// unexpected SSRC before it is accepted.
const consistentSSRC = 3

// intake is the per-packet path, owned by Run's goroutine: SSRC check,
// order, demux, keyframe gating.
type intake struct {
	r        *Receiver
	expected uint32
	locked   bool
	ssrc     uint32
	cand     uint32
	pending  []*rtp.Packet // packets of the candidate SSRC
	first    bool
	warned   bool
	waitKey  bool
	demux    ps.Demuxer
}

// packet handles one raw RTP packet; it reports whether it counted as media
// (for the timeout).
func (in *intake) packet(b []byte, src netip.AddrPort, now time.Time, ro *reorder) bool {
	st := &in.r.stats
	if len(b) >= 2 && b[1] >= 200 && b[1] <= 204 { // RTCP SR/RR/SDES/BYE/APP on the RTP port
		return false
	}
	p := &rtp.Packet{}
	if err := p.Unmarshal(bytes.Clone(b)); err != nil || p.Version != 2 {
		st.badRTP.Add(1)
		return false
	}
	if !in.first {
		in.first = true
		s := src.String()
		st.source.Store(&s)
		in.r.log.Info("first RTP packet", "source", s, "ssrc", ssrcString(p.SSRC),
			"expected_ssrc", ssrcString(in.expected), "pt", p.PayloadType)
	}
	pkts, ok := in.checkSSRC(p, src)
	for _, q := range pkts {
		st.packets.Add(1)
		st.bytes.Add(uint64(len(q.Payload)))
		ro.push(q, now, in.emit)
	}
	return ok
}

// checkSSRC returns the packets to process: p, nothing, or the replay of
// the packets of an unexpected SSRC that has just proved consistent.
func (in *intake) checkSSRC(p *rtp.Packet, src netip.AddrPort) ([]*rtp.Packet, bool) {
	st := &in.r.stats
	switch {
	case in.locked && p.SSRC == in.ssrc:
		return []*rtp.Packet{p}, true
	case in.locked:
		st.wrongSSRC.Add(1)
		return nil, false
	case in.expected == 0 || p.SSRC == in.expected:
		in.lock(p.SSRC)
		in.pending = nil
		return []*rtp.Packet{p}, true
	case in.r.cfg.StrictSSRC:
		st.wrongSSRC.Add(1)
		if !in.warned {
			in.warned = true
			in.r.log.Warn("RTP with an unexpected SSRC dropped (strict)", "source", src.String(),
				"ssrc", ssrcString(p.SSRC), "expected_ssrc", ssrcString(in.expected))
		}
		return nil, false
	}
	if p.SSRC != in.cand {
		st.wrongSSRC.Add(uint64(len(in.pending)))
		in.cand, in.pending = p.SSRC, in.pending[:0]
	}
	in.pending = append(in.pending, p)
	if len(in.pending) < consistentSSRC {
		return nil, true
	}
	in.r.log.Warn("device ignores y=: accepting its SSRC", "source", src.String(),
		"ssrc", ssrcString(p.SSRC), "expected_ssrc", ssrcString(in.expected))
	in.lock(p.SSRC)
	out := in.pending
	in.pending = nil
	return out, true
}

func (in *intake) lock(ssrc uint32) {
	in.locked, in.ssrc = true, ssrc
	in.r.stats.ssrc.Store(ssrc)
}

// restart forgets the frame in progress after the TCP connection changed.
func (in *intake) restart() {
	in.waitKey = true
	in.demux.Reset()
}

// emit is the reorder callback: demux p, deliver the frames.
func (in *intake) emit(p *rtp.Packet, gap bool) {
	d := &in.demux
	if gap {
		d.Reset()
		in.waitKey = true
	}
	frames, err := d.Push(p.Payload, p.Timestamp, p.Marker)
	if err != nil {
		in.r.stats.demuxErrors.Add(1)
	}
	for _, f := range frames {
		if f.Video {
			if in.waitKey && !f.Keyframe {
				in.r.stats.skipped.Add(1)
				continue
			}
			in.waitKey = false
		}
		in.r.stats.frames.Add(1)
		in.r.cfg.OnFrame(f)
	}
}
