package webrtc

import (
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// nackHistory is how many sent packets a stream remembers for
// retransmission (a power of two; about 2.5 s of a 2 Mbit/s stream).
const nackHistory = 512

// nackCounters are a session's retransmission statistics.
type nackCounters struct {
	requested, resent, missed atomic.Uint64
}

// nackResponder answers NACKs (RFC 4585 §6.2.1) from the packets this
// PeerConnection sent. Unlike pion's nack.ResponderInterceptor it copies no
// payload: the hub's packets are immutable, so the history keeps a
// reference to the shared payload plus the few header fields this
// subscriber rewrote (about 40 bytes per entry, 20 KiB per video stream),
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
	payload []byte
	ts      uint32
	seq     uint16
	marker  bool
	valid   bool
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
	for _, pair := range nack.Nacks {
		pair.Range(func(seq uint16) bool {
			n.counters.requested.Add(1)
			if h.resend(seq) {
				n.counters.resent.Add(1)
			} else {
				n.counters.missed.Add(1)
			}
			return true
		})
	}
}

func (h *sentHistory) add(hdr *rtp.Header, payload []byte) {
	h.mu.Lock()
	h.ring[hdr.SequenceNumber%nackHistory] = sentPacket{
		payload: payload, ts: hdr.Timestamp, seq: hdr.SequenceNumber, marker: hdr.Marker, valid: true,
	}
	h.mu.Unlock()
}

// resend writes the packet with sequence number seq again, if remembered.
func (h *sentHistory) resend(seq uint16) bool {
	h.mu.Lock()
	p := h.ring[seq%nackHistory]
	h.mu.Unlock()
	if !p.valid || p.seq != seq {
		return false
	}
	h.resendMu.Lock()
	defer h.resendMu.Unlock()
	h.hdr = rtp.Header{
		Version: 2, Marker: p.marker, PayloadType: h.pt,
		SequenceNumber: p.seq, Timestamp: p.ts, SSRC: h.ssrc,
	}
	// nil attributes, as pion's own track writer passes.
	_, err := h.next.Write(&h.hdr, p.payload, nil)
	return err == nil
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
