package ps

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Byte samples composed in gb28181.md §13.
var (
	samplePack = h("00 00 01 BA 44 00 16 FC 84 01 01 89 C3 F8")
	sampleSys  = h("00 00 01 BB 00 0C 80 C4 E1 04 E1 7F E0 E4 00 C0 C0 20")
	samplePSM  = h("00 00 01 BC 00 12 E0 FF 00 00 00 08 1B E0 00 00 90 C0 00 00 FE DF B1 D7")
	samplePES  = h("00 00 01 E0 00 16 80 80 05 21 00 05 BF 21 00 00 00 01 09 F0 00 00 00 01 67 42 00 1E")
)

// h decodes space-separated hex; it panics on a typo in a test literal.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// psmOf builds a PSM for (stream_type, stream_id) pairs with a zero CRC.
func psmOf(pairs ...byte) []byte {
	n := 10 + 2*len(pairs)
	b := []byte{0, 0, 1, 0xBC, byte(n >> 8), byte(n), 0xE0, 0xFF, 0, 0, 0, byte(2 * len(pairs))}
	for i := 0; i+1 < len(pairs); i += 2 {
		b = append(b, pairs[i], pairs[i+1], 0, 0)
	}
	return append(b, 0, 0, 0, 0)
}

// pes builds a PES; pts < 0 means none, dts < 0 means PTS only.
func pes(id byte, pts, dts int64, payload []byte) []byte {
	var hdr []byte
	switch {
	case pts >= 0 && dts >= 0:
		hdr = append([]byte{0x80, 0xC0, 10}, tsBytes(0x30, pts)...)
		hdr = append(hdr, tsBytes(0x10, dts)...)
	case pts >= 0:
		hdr = append([]byte{0x80, 0x80, 5}, tsBytes(0x20, pts)...)
	default:
		hdr = []byte{0x80, 0x00, 0}
	}
	n := len(hdr) + len(payload)
	return cat([]byte{0, 0, 1, id, byte(n >> 8), byte(n)}, hdr, payload)
}

func tsBytes(prefix byte, v int64) []byte {
	p := uint64(v)
	return []byte{prefix | byte(p>>29&0x0E) | 1, byte(p >> 22), byte(p>>14) | 1, byte(p >> 7), byte(p<<1) | 1}
}

func annexB(nalus ...string) []byte {
	var b []byte
	for _, n := range nalus {
		b = append(b, 0, 0, 0, 1)
		b = append(b, h(n)...)
	}
	return b
}

var (
	h264Key = annexB("09 F0", "67 42 00 1E AB", "68 CE 3C 80", "65 88 84 00 11")
	h264P   = annexB("09 30", "41 9A 02 03")
	h265Key = annexB("46 01 10", "40 01 0C 01", "42 01 01 01", "44 01 C1 72", "26 01 AF 09")
	h265P   = annexB("02 01 D0 11")
	g711    = bytes.Repeat([]byte{0xD5, 0x55}, 80)
)

// wantFrame summarises a Frame for comparisons.
type wantFrame struct {
	Codec    Codec
	Video    bool
	PTS, DTS int64
	Key      bool
	NALUs    string // hex of NALUs joined by "|"
	Payload  int    // audio payload length
}

func summarise(fs []Frame) []wantFrame {
	var out []wantFrame
	for _, f := range fs {
		var ns []string
		for _, n := range f.NALUs {
			ns = append(ns, fmt.Sprintf("%X", n))
		}
		out = append(out, wantFrame{f.Codec, f.Video, f.PTS, f.DTS, f.Keyframe, strings.Join(ns, "|"), len(f.Payload)})
	}
	return out
}

// casesDemux drives TestDemux (whole, cut at every offset, cut randomly)
// and seeds FuzzDemux. Every case is one RTP timestamp (ts 1).
var casesDemux = []struct {
	name    string
	ps      []byte
	want    []wantFrame
	wantErr error
}{
	{
		"§13 samples: pack, system header, PSM, PES with AUD and partial SPS",
		cat(samplePack, sampleSys, samplePSM, samplePES),
		[]wantFrame{{H264, true, 90000, 90000, true, "6742001E", 0}},
		nil,
	},
	{
		"no PSM: H.264 sniffed from SPS",
		cat(samplePack, pes(0xE0, 3600, -1, h264Key)),
		[]wantFrame{{H264, true, 3600, 3600, true, "6742001EAB|68CE3C80|6588840011", 0}},
		nil,
	},
	{
		"no PSM: H.265 sniffed from VPS",
		cat(samplePack, pes(0xE0, 3600, -1, h265Key)),
		[]wantFrame{{H265, true, 3600, 3600, true, "40010C01|42010101|4401C172|2601AF09", 0}},
		nil,
	},
	{
		"H.265 announced by PSM, PTS and DTS",
		cat(samplePack, psmOf(0x24, 0xE0), pes(0xE0, 7200, 3600, h265P)),
		[]wantFrame{{H265, true, 7200, 3600, false, "0201D011", 0}},
		nil,
	},
	{
		"pack stuffing with odd values (a start code and a counter)",
		cat(h("00 00 01 BA 44 00 16 FC 84 01 01 89 C3 FD 00 00 01 BA 07"), pes(0xE0, 3600, -1, h264Key)),
		[]wantFrame{{H264, true, 3600, 3600, true, "6742001EAB|68CE3C80|6588840011", 0}},
		nil,
	},
	{
		"G.711A audio with PSM",
		cat(samplePack, samplePSM, pes(0xC0, 1800, -1, g711)),
		[]wantFrame{{PCMA, false, 1800, 1800, false, "", 160}},
		nil,
	},
	{
		"G.711µ audio",
		cat(samplePack, psmOf(0x91, 0xC0), pes(0xC0, 1800, -1, g711)),
		[]wantFrame{{PCMU, false, 1800, 1800, false, "", 160}},
		nil,
	},
	{
		"video and audio in one pack",
		cat(samplePack, sampleSys, samplePSM, pes(0xE0, 3600, -1, h264Key), pes(0xC0, 3600, -1, g711)),
		[]wantFrame{
			{H264, true, 3600, 3600, true, "6742001EAB|68CE3C80|6588840011", 0},
			{PCMA, false, 3600, 3600, false, "", 160},
		},
		nil,
	},
	{
		"multi-PES frame: continuation PES without PTS",
		cat(samplePack, samplePSM, pes(0xE0, 3600, -1, annexB("41 9A")), pes(0xE0, -1, -1, annexB("41 9B"))),
		[]wantFrame{{H264, true, 3600, 3600, false, "419A|419B", 0}},
		nil,
	},
	{
		"private 1, padding and private 2 skipped by length",
		cat(samplePack, h("00 00 01 BD 00 06 00 00 01 E0 00 FF"), h("00 00 01 BE 00 02 FF FF"),
			h("00 00 01 BF 00 01 00"), samplePSM, pes(0xE0, 3600, -1, h264P)),
		[]wantFrame{{H264, true, 3600, 3600, false, "419A0203", 0}},
		nil,
	},
	{
		"garbage before the pack header",
		cat(h("12 34 00 00 01 00 FF"), samplePack, samplePSM, pes(0xE0, 3600, -1, h264P)),
		[]wantFrame{{H264, true, 3600, 3600, false, "419A0203", 0}},
		ErrGarbage,
	},
	{
		"two video frames by PTS change",
		cat(samplePack, samplePSM, pes(0xE0, 3600, -1, h264P), samplePack, pes(0xE0, 7200, -1, h264P)),
		[]wantFrame{
			{H264, true, 3600, 3600, false, "419A0203", 0},
			{H264, true, 7200, 7200, false, "419A0203", 0},
		},
		nil,
	},
	{
		"unknown stream type reported",
		cat(samplePack, psmOf(0x80, 0xE0), pes(0xE0, 3600, -1, h264P)),
		[]wantFrame{{CodecUnknown, true, 3600, 3600, false, "0930|419A0203", 0}},
		nil,
	},
	{
		"malformed PES header skipped",
		cat(samplePack, h("00 00 01 E0 00 03 80 80 09"), samplePSM, pes(0xE0, 3600, -1, h264P)),
		[]wantFrame{{H264, true, 3600, 3600, false, "419A0203", 0}},
		ErrBadPES,
	},
	{
		"MPEG-1 pack header and program end code",
		cat(h("00 00 01 BA 21 00 01 00 01 80 00 01"), samplePSM, pes(0xE0, 3600, -1, h264P), h("00 00 01 B9")),
		[]wantFrame{{H264, true, 3600, 3600, false, "419A0203", 0}},
		nil,
	},
	{
		"unbounded video PES (length 0)",
		cat(samplePack, samplePSM, h("00 00 01 E0 00 00 80 80 05"), tsBytes(0x20, 3600), h264P),
		[]wantFrame{{H264, true, 3600, 3600, false, "419A0203", 0}},
		nil,
	},
}

func TestDemux(t *testing.T) {
	for _, c := range casesDemux {
		t.Run(c.name, func(t *testing.T) {
			check := func(how string, got []Frame, err error) {
				t.Helper()
				if c.wantErr == nil && err != nil {
					t.Fatalf("%s: unexpected error %v", how, err)
				}
				if c.wantErr != nil && !errors.Is(err, c.wantErr) {
					t.Fatalf("%s: error %v, want %v", how, err, c.wantErr)
				}
				if s := summarise(got); !reflect.DeepEqual(s, c.want) {
					t.Fatalf("%s:\n got %+v\nwant %+v", how, s, c.want)
				}
			}
			var d Demuxer
			got, err := d.Push(c.ps, 1, true)
			check("one payload", got, err)

			for cut := 1; cut < len(c.ps); cut++ {
				var d Demuxer
				f1, e1 := d.Push(c.ps[:cut], 1, false)
				f2, e2 := d.Push(c.ps[cut:], 1, true)
				check(fmt.Sprintf("cut at %d", cut), append(f1, f2...), errors.Join(e1, e2))
			}
		})
	}
}

func TestDemuxPSMChange(t *testing.T) {
	var d Demuxer
	f, err := d.Push(cat(samplePack, psmOf(0x1B, 0xE0), pes(0xE0, 3600, -1, h264Key)), 3600, true)
	if err != nil || len(f) != 1 || f[0].Codec != H264 {
		t.Fatalf("%+v %v", f, err)
	}
	f, err = d.Push(cat(samplePack, psmOf(0x24, 0xE0), pes(0xE0, 7200, -1, h265Key)), 7200, true)
	if err != nil || len(f) != 1 || f[0].Codec != H265 || !f[0].Keyframe {
		t.Fatalf("%+v %v", f, err)
	}
	if d.StreamType(0xE0) != 0x24 {
		t.Fatal("StreamType")
	}
}

func TestDemuxSniffKeepsCodecForPFrames(t *testing.T) {
	var d Demuxer
	d.Push(cat(samplePack, pes(0xE0, 3600, -1, h265Key)), 3600, true)
	f, _ := d.Push(cat(samplePack, pes(0xE0, 7200, -1, h265P)), 7200, true)
	if len(f) != 1 || f[0].Codec != H265 || f[0].Keyframe {
		t.Fatalf("%+v", f)
	}
}

func TestDemuxTooLarge(t *testing.T) {
	var m Muxer
	big := make([]byte, MaxFrameSize+1000)
	big[0] = 0x41
	ps := m.Video(H264, [][]byte{big}, 3600, false)
	var d Demuxer
	f, err := d.Push(ps, 3600, true)
	if !errors.Is(err, ErrFrameTooLarge) || len(f) != 0 {
		t.Fatalf("%d frames, %v", len(f), err)
	}
	// The demuxer recovers.
	f, err = d.Push(m.Video(H264, [][]byte{h("419A")}, 7200, false), 7200, true)
	if err != nil || len(f) != 1 {
		t.Fatalf("%+v %v", f, err)
	}
}

func TestDemuxTruncatedUnit(t *testing.T) {
	var d Demuxer
	full := cat(samplePack, samplePSM, pes(0xE0, 3600, -1, h264P))
	d.Push(full[:len(full)-3], 3600, false)
	f, err := d.Push(cat(samplePack, pes(0xE0, 7200, -1, h264P)), 7200, true)
	if !errors.Is(err, ErrTruncated) || len(f) != 1 || f[0].PTS != 7200 {
		t.Fatalf("%+v %v", summarise(f), err)
	}
}

func TestDemuxNoPTSUsesRTPTimestamp(t *testing.T) {
	var d Demuxer
	f, _ := d.Push(cat(samplePack, samplePSM, pes(0xE0, -1, -1, h264P)), 12345, true)
	if len(f) != 1 || f[0].PTS != 12345 {
		t.Fatalf("%+v", f)
	}
}

func TestDemuxResetAndFlush(t *testing.T) {
	var d Demuxer
	d.Push(cat(samplePack, samplePSM, pes(0xE0, 3600, -1, h264P)), 3600, false)
	d.Reset()
	if f, err := d.Flush(); len(f) != 0 || err != nil {
		t.Fatalf("after Reset: %+v %v", f, err)
	}
	d.Push(cat(samplePack, pes(0xE0, 3600, -1, h264P)), 3600, false)
	if f, _ := d.Flush(); len(f) != 1 || f[0].Codec != H264 {
		t.Fatalf("Flush: %+v", f)
	}
}
