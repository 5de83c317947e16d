package webrtc

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// nackHistory is how many sent packets a stream remembers for
// retransmission (a power of two; about 2.5 s of a 2 Mbit/s stream).
const nackHistory = 512

// A packet is resent at most nackMaxResends times, and not again within
// nackResendGap of its last resend (a NACK that crossed the resend in
// flight). A client that re-NACKs every missing packet on a timer (pion's
// generator: every 100 ms, without limit, for its 512-packet window)
// otherwise makes an overloaded viewer cost the hub up to 30 resends per
// lost packet, more CPU than the forwarding itself (LiveKit's sequencer caps
// at 3 as well).
const (
	nackMaxResends = 3
	nackResendGap  = 20 * time.Millisecond
)

// nackEpoch is the origin of sentPacket.resentAt (monotonic).
var nackEpoch = time.Now()

// nackCounters are a session's retransmission statistics.
type nackCounters struct {
	// throttled: asked again too soon or too often (nackMaxResends)
	requested, resent, missed, throttled atomic.Uint64
}

// nackResponder answers NACKs (RFC 4585 §6.2.1) from the packets this
// PeerConnection sent. Unlike pion's nack.ResponderInterceptor it copies no
// payload: the hub's packets are immutable, so the history keeps a
// reference to the shared payload plus the few header fields this
// subscriber rewrote (about 48 bytes per entry, 24 KiB per video stream),
// which makes the payload memory one per-stream cache shared by every viewer.
type nackResponder struct {
	interceptor.NoOp
	counters *nackCounters
	batch    *pairBatch // resends of one NACK go out as one batch

	mu      sync.Mutex
	streams map[uint32]*sentHistory
}

type nackFactory struct {
	counters *nackCounters
	batch    *pairBatch
}

func (f nackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &nackResponder{counters: f.counters, batch: f.batch, streams: map[uint32]*sentHistory{}}, nil
}

type sentPacket struct {
	payload  []byte
	resentAt time.Duration // since nackEpoch
	ts       uint32
	seq      uint16
	resends  uint8
	marker   bool
	valid    bool
}

type sentHistory struct {
	ssrc uint32
	pt   uint8
	next interceptor.RTPWriter

	mu   sync.Mutex
	ring [nackHistory]sentPacket

	// resendMu guards hdr, the header every retransmission reuses (a fresh
	// one escaped to the heap: a NACK storm allocated per packet).
	resendMu sync.Mutex
	hdr      rtp.Header
}

// BindLocalStream records every packet a NACK-capable stream writes.
func (n *nackResponder) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if !supportsNack(info) {
		return w
	}
	h := &sentHistory{ssrc: info.SSRC, pt: info.PayloadType, next: w}
	n.mu.Lock()
	n.streams[info.SSRC] = h
	n.mu.Unlock()
	return interceptor.RTPWriterFunc(func(hdr *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		h.add(hdr, payload)
		return w.Write(hdr, payload, a)
	})
}

// UnbindLocalStream forgets a stream.
func (n *nackResponder) UnbindLocalStream(info *interceptor.StreamInfo) {
	n.mu.Lock()
	delete(n.streams, info.SSRC)
	n.mu.Unlock()
}

// BindRTCPReader watches incoming RTCP for NACKs. It sees packets only when
// the session drains the sender's RTCP, which it always does.
func (n *nackResponder) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		i, attr, err := r.Read(b, a)
		if err != nil {
			return 0, nil, err
		}
		if attr == nil {
			attr = interceptor.Attributes{}
		}
		pkts, err := attr.GetRTCPPackets(b[:i])
		if err != nil {
			return 0, nil, err
		}
		for _, p := range pkts {
			if nack, ok := p.(*rtcp.TransportLayerNack); ok {
				n.resend(nack)
			}
		}
		return i, attr, nil
	})
}

func (n *nackResponder) resend(nack *rtcp.TransportLayerNack) {
	n.mu.Lock()
	h := n.streams[nack.MediaSSRC]
	n.mu.Unlock()
	if h == nil {
		return
	}
	if n.batch != nil {
		q := n.batch.begin(nackCount(nack))
		defer q.finish()
	}
	now := time.Since(nackEpoch)
	for _, pair := range nack.Nacks {
		pair.Range(func(seq uint16) bool {
			n.counters.requested.Add(1)
			switch h.resend(seq, now) {
			case resent:
				n.counters.resent.Add(1)
			case throttled:
				n.counters.throttled.Add(1)
			default:
				n.counters.missed.Add(1)
			}
			return true
		})
	}
}

// resendResult is what became of one NACKed packet.
type resendResult int

const (
	missed    resendResult = iota // not in the history (or the write failed)
	resent                        // sent again
	throttled                     // resent too recently or too often
)

func (h *sentHistory) add(hdr *rtp.Header, payload []byte) {
	h.mu.Lock()
	h.ring[hdr.SequenceNumber%nackHistory] = sentPacket{
		payload: payload, ts: hdr.Timestamp, seq: hdr.SequenceNumber, marker: hdr.Marker, valid: true,
	}
	h.mu.Unlock()
}

// resend writes the packet with sequence number seq again, if remembered
// and not throttled; now is the time since nackEpoch.
func (h *sentHistory) resend(seq uint16, now time.Duration) resendResult {
	h.mu.Lock()
	e := &h.ring[seq%nackHistory]
	if !e.valid || e.seq != seq {
		h.mu.Unlock()
		return missed
	}
	if e.resends >= nackMaxResends || (e.resends > 0 && now-e.resentAt < nackResendGap) {
		h.mu.Unlock()
		return throttled
	}
	e.resends++
	e.resentAt = now
	p := *e
	h.mu.Unlock()
	h.resendMu.Lock()
	defer h.resendMu.Unlock()
	h.hdr = rtp.Header{
		Version: 2, Marker: p.marker, PayloadType: h.pt,
		SequenceNumber: p.seq, Timestamp: p.ts, SSRC: h.ssrc,
	}
	// nil attributes, as pion's own track writer passes.
	if _, err := h.next.Write(&h.hdr, p.payload, nil); err != nil {
		return missed
	}
	return resent
}

// nackCount is how many packets a NACK asks for.
func nackCount(nack *rtcp.TransportLayerNack) int {
	n := 0
	for _, pair := range nack.Nacks {
		n += 1 + bits.OnesCount16(uint16(pair.LostPackets))
	}
	return n
}

func supportsNack(info *interceptor.StreamInfo) bool {
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			return true
		}
	}
	return false
}
