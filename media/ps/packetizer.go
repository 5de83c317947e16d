package ps

import "github.com/pion/rtp"

// Packetizer cuts program-stream bytes into RTP packets (gb28181.md §13):
// payloads of at most MTU bytes, every packet of a frame with the same
// timestamp, the marker bit on the frame's last packet. The zero value
// sends PT 96 with SSRC 0 and MTU DefaultMTU. Not safe for concurrent use.
type Packetizer struct {
	SSRC        uint32
	PayloadType uint8  // 0 means 96
	MTU         int    // maximum payload bytes; 0 means DefaultMTU
	Sequence    uint16 // sequence number of the next packet
}

// Packetize returns the packets of one frame's PS bytes with RTP timestamp
// ts. Payloads alias ps. An empty ps gives no packets.
func (p *Packetizer) Packetize(ps []byte, ts uint32) []*rtp.Packet {
	mtu := p.MTU
	if mtu <= 0 {
		mtu = DefaultMTU
	}
	pt := p.PayloadType
	if pt == 0 {
		pt = 96
	}
	out := make([]*rtp.Packet, 0, (len(ps)+mtu-1)/mtu)
	for len(ps) > 0 {
		n := min(len(ps), mtu)
		out = append(out, &rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         n == len(ps),
				PayloadType:    pt,
				SequenceNumber: p.Sequence,
				Timestamp:      ts,
				SSRC:           p.SSRC,
			},
			Payload: ps[:n],
		})
		p.Sequence++
		ps = ps[n:]
	}
	return out
}
