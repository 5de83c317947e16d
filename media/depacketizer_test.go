package media

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/pion/rtp"
)

// depacketizerCase is one table row: units packetized by the stream's
// packetizer, then depacketized back. It also seeds FuzzDepacketizer.
type depacketizerCase struct {
	name  string
	track *Track
	units []*Unit
}

func depacketizerCases() []depacketizerCase {
	big := make([]byte, 5000) // fragmented (FU-A / FU)
	big[0] = 0x65
	for i := 1; i < len(big); i++ {
		big[i] = byte(i)
	}
	h265IDR := append([]byte{0x26, 0x01}, big[2:3000]...) // IDR_W_RADL
	h265P := []byte{0x02, 0x01, 0xaa, 0xbb}               // TRAIL_R
	return []depacketizerCase{
		{"h264", &Track{Codec: H264, ClockRate: 90000, PayloadType: 96}, []*Unit{
			{PTS: 0, NALUs: [][]byte{testSPS, testPPS, big}},
			{PTS: 3600, NALUs: [][]byte{{0x41, 1, 2, 3}}},
			{PTS: 7200, NALUs: [][]byte{{0x06, 5, 5}, {0x41, 4, 5, 6}}}, // aggregated (STAP-A)
		}},
		{"h265", &Track{Codec: H265, ClockRate: 90000, PayloadType: 97}, []*Unit{
			{PTS: 0, NALUs: [][]byte{h265IDR}},
			{PTS: 3000, NALUs: [][]byte{h265P}},
		}},
		{"pcma", &Track{Codec: PCMA, ClockRate: 8000, PayloadType: 8}, []*Unit{
			{PTS: 0, Payload: bytes.Repeat([]byte{0xd5}, 160)},
			{PTS: 160, Payload: bytes.Repeat([]byte{0x55}, 160)},
		}},
		{"opus", &Track{Codec: Opus, ClockRate: 48000, Channels: 2, PayloadType: 111}, []*Unit{
			{PTS: 0, Payload: []byte{0xfc, 1, 2, 3}},
			{PTS: 960, Payload: []byte{0xfc, 4, 5, 6}},
		}},
		{"aac", &Track{Codec: AAC, ClockRate: 48000, PayloadType: 98}, []*Unit{
			{PTS: 0, Payload: []byte{0x21, 0x10, 0x04}},
			{PTS: 1024, Payload: []byte{0x21, 0x10, 0x05}},
		}},
	}
}

// packetsOf packetizes the case's units with the stream packetizer.
func packetsOf(t testing.TB, c depacketizerCase) []*rtp.Packet {
	t.Helper()
	var p packetizer
	if err := p.setTracks([]*Track{c.track}); err != nil {
		t.Fatal(err)
	}
	var pkts []*rtp.Packet
	for _, u := range c.units {
		cp := *u
		cp.NALUs = append([][]byte(nil), u.NALUs...)
		if _, err := p.packetize(&cp); err != nil {
			t.Fatalf("%s: packetize: %v", c.name, err)
		}
		pkts = append(pkts, cp.Packets...)
	}
	return pkts
}

func TestDepacketizerRoundTrip(t *testing.T) {
	for _, c := range depacketizerCases() {
		t.Run(c.name, func(t *testing.T) {
			pkts := packetsOf(t, c)
			d, err := NewDepacketizer(c.track)
			if err != nil {
				t.Fatal(err)
			}
			var got []*Unit
			for _, pkt := range pkts {
				us, err := d.Push(pkt)
				if err != nil {
					t.Fatalf("Push: %v", err)
				}
				got = append(got, us...)
			}
			if len(got) != len(c.units) {
				t.Fatalf("got %d units, want %d", len(got), len(c.units))
			}
			for i, u := range got {
				want := c.units[i]
				if u.PTS != want.PTS {
					t.Errorf("unit %d PTS %d, want %d", i, u.PTS, want.PTS)
				}
				if !bytes.Equal(u.Payload, want.Payload) || len(u.NALUs) != len(want.NALUs) {
					t.Fatalf("unit %d content differs", i)
				}
				for j := range u.NALUs {
					if !bytes.Equal(u.NALUs[j], want.NALUs[j]) {
						t.Fatalf("unit %d NALU %d differs", i, j)
					}
				}
			}
			if c.track.Codec.IsVideo() && !got[0].Keyframe {
				t.Error("first video unit not flagged as keyframe")
			}
		})
	}
}

func TestDepacketizerTimestampWrap(t *testing.T) {
	d, err := NewDepacketizer(&Track{Codec: PCMU, ClockRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	ts := uint32(0xffffff00)
	for i := range 10 {
		us, err := d.Push(&rtp.Packet{Header: rtp.Header{Timestamp: ts}, Payload: make([]byte, 160)})
		if err != nil || len(us) != 1 {
			t.Fatalf("Push %d: %v, %d units", i, err, len(us))
		}
		if want := int64(i) * 160; us[0].PTS != want {
			t.Fatalf("packet %d: PTS %d, want %d", i, us[0].PTS, want)
		}
		ts += 160
	}
}

func TestDepacketizerH264SplitByTimestamp(t *testing.T) {
	// A camera that never sets the marker bit: units end on a timestamp change.
	d, err := NewDepacketizer(&Track{Codec: H264, ClockRate: 90000})
	if err != nil {
		t.Fatal(err)
	}
	var got []*Unit
	for i := range 4 {
		pkt := &rtp.Packet{Header: rtp.Header{Timestamp: 1000 + uint32(i)*3600}, Payload: []byte{0x41, byte(i)}}
		us, err := d.Push(pkt)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, us...)
	}
	if len(got) != 3 {
		t.Fatalf("%d units, want 3", len(got))
	}
	for i, u := range got {
		if u.PTS != int64(i)*3600 || u.NALUs[0][1] != byte(i) {
			t.Fatalf("unit %d: PTS %d NALU %x", i, u.PTS, u.NALUs[0])
		}
	}
}

func TestNewDepacketizerUnsupported(t *testing.T) {
	if _, err := NewDepacketizer(&Track{Codec: "VP8"}); err == nil {
		t.Fatal("want an error for VP8")
	}
}

// FuzzDepacketizer feeds random packet sequences to every codec's
// depacketizer: it must never panic. Input: a codec byte, then packets as
// [len uint16][marker+seq byte][timestamp delta byte][payload].
func FuzzDepacketizer(f *testing.F) {
	for ci, c := range depacketizerCases() {
		f.Add(encodeFuzz(byte(ci), packetsOf(f, c)))
	}
	f.Add([]byte{0, 0, 3, 0x80, 0, 0x7c})
	cases := depacketizerCases()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		track := cases[int(data[0])%len(cases)].track
		d, err := NewDepacketizer(track)
		if err != nil {
			t.Fatal(err)
		}
		data = data[1:]
		var ts uint32
		var seq uint16
		for len(data) >= 4 {
			n := int(binary.BigEndian.Uint16(data))
			flags, delta := data[2], data[3]
			data = data[4:]
			n = min(n, len(data))
			seq += uint16(flags & 0x7f)
			ts += uint32(delta) * 100
			pkt := &rtp.Packet{Header: rtp.Header{Marker: flags&0x80 != 0, SequenceNumber: seq, Timestamp: ts},
				Payload: data[:n]}
			data = data[n:]
			us, _ := d.Push(pkt)
			for _, u := range us {
				if u == nil {
					t.Fatal("nil unit")
				}
			}
		}
	})
}

func encodeFuzz(codec byte, pkts []*rtp.Packet) []byte {
	out := []byte{codec}
	var prevTS uint32
	var prevSeq uint16
	for i, p := range pkts {
		flags := byte(p.SequenceNumber-prevSeq) & 0x7f
		if i == 0 {
			flags = 1
		}
		if p.Marker {
			flags |= 0x80
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(p.Payload)))
		out = append(out, flags, byte((p.Timestamp-prevTS)/100))
		out = append(out, p.Payload...)
		prevTS, prevSeq = p.Timestamp, p.SequenceNumber
	}
	return out
}
