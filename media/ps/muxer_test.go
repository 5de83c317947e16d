package ps

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/pion/rtp"
)

func TestMuxerMatchesSamples(t *testing.T) {
	var m Muxer
	if got := m.packHeader(nil, 90000); !bytes.Equal(got, samplePack) {
		t.Fatalf("pack header % X", got)
	}
	m.video, m.audio = H264, PCMA
	if got := m.tables(nil); !bytes.Equal(got, cat(sampleSys, samplePSM)) {
		t.Fatalf("tables\n got % X\nwant % X", got, cat(sampleSys, samplePSM))
	}
	if got := appendPES(nil, 0xE0, samplePES[14:], 90000); !bytes.Equal(got, samplePES) {
		t.Fatalf("PES % X", got)
	}
}

func TestMuxerLayout(t *testing.T) {
	var m Muxer
	key := m.Video(H264, [][]byte{h("67 42"), h("68 CE"), h("65 88")}, 3600, true)
	if !bytes.HasPrefix(key, samplePack[:4]) || !bytes.Contains(key, []byte{0, 0, 1, 0xBB}) || !bytes.Contains(key, []byte{0, 0, 1, 0xBC}) {
		t.Fatalf("keyframe lacks tables: % X", key)
	}
	p := m.Video(H264, [][]byte{h("41 9A")}, 7200, false)
	if bytes.Contains(p, []byte{0, 0, 1, 0xBC}) {
		t.Fatal("P frame carries a PSM")
	}
	a := m.Audio(PCMU, g711, 7200)
	if !bytes.Contains(a, []byte{0x91, 0xC0}) {
		t.Fatalf("first audio frame must announce PCMU: % X", a[:40])
	}
	big := m.Video(H265, [][]byte{make([]byte, 200000)}, 10800, true)
	var pesCount int
	for i := 0; i+4 <= len(big); i++ {
		if big[i] == 0 && big[i+1] == 0 && big[i+2] == 1 && big[i+3] == 0xE0 {
			pesCount++
		}
	}
	if pesCount != 4 { // 200004 bytes in 65000-byte PES packets
		t.Fatalf("%d PES packets", pesCount)
	}
}

type avFrame struct {
	video bool
	codec Codec
	nalus [][]byte
	data  []byte
	pts   int64
	key   bool
}

// testStream makes n video frames (GOP of 10, 40 ms) with a G.711 frame after each.
func testStream(r *rand.Rand, vc, ac Codec, n int) []avFrame {
	var out []avFrame
	for i := range n {
		pts := int64(i) * 3600
		key := i%10 == 0
		var nalus [][]byte
		if vc == H264 {
			if key {
				nalus = append(nalus, h("67 42 00 1E"), h("68 CE 3C 80"))
			}
			nalus = append(nalus, randNALU(r, map[bool]byte{true: 0x65, false: 0x41}[key], r.IntN(150000)+1))
		} else {
			if key {
				nalus = append(nalus, h("40 01 0C 01"), h("42 01 01 01"), h("44 01 C1 72"))
			}
			nalus = append(nalus, append(map[bool][]byte{true: {0x26, 0x01}, false: {0x02, 0x01}}[key], randNALU(r, 0xAF, r.IntN(150000))...))
		}
		out = append(out, avFrame{true, vc, nalus, nil, pts, key})
		if ac != CodecUnknown {
			out = append(out, avFrame{false, ac, nil, randNALU(r, 0xD5, 320), pts + 1800, false})
		}
	}
	return out
}

// randNALU returns a NAL unit body free of start-code emulation.
func randNALU(r *rand.Rand, hdr byte, n int) []byte {
	b := make([]byte, n+1)
	b[0] = hdr
	for i := 1; i < len(b); i++ {
		b[i] = byte(r.IntN(255) + 1)
	}
	return b
}

type markerMode int

const (
	markerLast markerMode = iota
	markerNever
	markerEvery
)

// roundTrip muxes frames, packetizes them, re-cuts every frame's payloads at
// random offsets and demuxes.
func roundTrip(t *testing.T, r *rand.Rand, frames []avFrame, mode markerMode) []Frame {
	t.Helper()
	var m Muxer
	var d Demuxer
	pk := Packetizer{SSRC: 0x0660B0EA}
	var got []Frame
	for _, f := range frames {
		var ps []byte
		if f.video {
			ps = m.Video(f.codec, f.nalus, f.pts, f.key)
		} else {
			ps = m.Audio(f.codec, f.data, f.pts)
		}
		pkts := pk.Packetize(ps, uint32(f.pts))
		for _, p := range pkts {
			if len(p.Payload) > DefaultMTU || p.Timestamp != uint32(f.pts) {
				t.Fatalf("bad packet %v", p.Header)
			}
		}
		if !pkts[len(pkts)-1].Marker {
			t.Fatal("marker not on last packet")
		}
		for len(ps) > 0 {
			n := min(len(ps), r.IntN(2000)+1)
			marker := (mode == markerLast && n == len(ps)) || mode == markerEvery
			out, err := d.Push(ps[:n], uint32(f.pts), marker)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, out...)
			ps = ps[n:]
		}
	}
	out, err := d.Flush()
	if err != nil {
		t.Fatal(err)
	}
	return append(got, out...)
}

func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		vc, ac Codec
		mode   markerMode
	}{
		{H264, PCMA, markerLast},
		{H265, PCMU, markerLast},
		{H264, CodecUnknown, markerNever},
		{H265, PCMA, markerEvery},
	} {
		t.Run(fmt.Sprintf("%s+%s/marker%d", c.vc, c.ac, c.mode), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(c.mode)))
			in := testStream(r, c.vc, c.ac, 25)
			got := roundTrip(t, r, in, c.mode)
			if len(got) != len(in) {
				t.Fatalf("got %d frames, want %d", len(got), len(in))
			}
			for i, f := range in {
				g := got[i]
				if g.Video != f.video || g.Codec != f.codec || g.PTS != f.pts || g.Keyframe != f.key {
					t.Fatalf("frame %d: got %v %s %d key=%v, want %v %s %d key=%v", i, g.Video, g.Codec, g.PTS, g.Keyframe, f.video, f.codec, f.pts, f.key)
				}
				if f.video && !reflect.DeepEqual(g.NALUs, f.nalus) {
					t.Fatalf("frame %d NALUs differ", i)
				}
				if !f.video && !bytes.Equal(g.Payload, f.data) {
					t.Fatalf("frame %d audio differs", i)
				}
			}
		})
	}
}

func TestPacketizer(t *testing.T) {
	p := Packetizer{SSRC: 0x0660B0EA, Sequence: 0x1234, MTU: 10}
	pkts := p.Packetize(make([]byte, 25), 90000)
	if len(pkts) != 3 || p.Sequence != 0x1237 || pkts[2].SequenceNumber != 0x1236 || !pkts[2].Marker || pkts[0].Marker {
		t.Fatalf("%v", pkts)
	}
	// gb28181.md §13 RTP header example: 80 E0 12 35 00 01 5F 90 06 60 B0 EA.
	pkts[1].Marker = true
	b, err := pkts[1].Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:12], h("80 E0 12 35 00 01 5F 90 06 60 B0 EA")) {
		t.Fatalf("% X", b[:12])
	}
	if len(p.Packetize(nil, 0)) != 0 {
		t.Fatal("empty input")
	}
}

func BenchmarkDemux(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	var m Muxer
	var pk Packetizer
	var pkts []*rtp.Packet
	total := 0
	for _, f := range testStream(r, H264, PCMA, 50) {
		var ps []byte
		if f.video {
			ps = m.Video(f.codec, f.nalus, f.pts, f.key)
		} else {
			ps = m.Audio(f.codec, f.data, f.pts)
		}
		total += len(ps)
		pkts = append(pkts, pk.Packetize(ps, uint32(f.pts))...)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		var d Demuxer
		for _, p := range pkts {
			if _, err := d.Push(p.Payload, p.Timestamp, p.Marker); err != nil {
				b.Fatal(err)
			}
		}
	}
}
