package ps

// Muxer writes GB28181-shaped program streams (gb28181.md §13): a pack
// header before every frame, a system header and a PSM before every
// keyframe (and before the first audio frame of an audio-only stream, then
// every AudioTablesEvery frames), video on stream 0xE0 and audio on 0xC0,
// PES payloads of at most MaxPESPayload bytes with the PTS on the first one.
// The zero value is ready to use; it is not safe for concurrent use.
type Muxer struct {
	// MuxRate is program_mux_rate in units of 50 bytes/s; 0 means 25200 (~10 Mbit/s).
	MuxRate uint32
	// AudioTablesEvery repeats the tables of an audio-only stream; 0 means 50 frames.
	AudioTablesEvery int

	video, audio Codec
	audioFrames  int
}

const (
	videoStreamID = 0xE0
	audioStreamID = 0xC0
)

// Video returns the PS bytes of one video access unit. nalus are NAL units
// without start codes; each is written with a 4-byte start code. pts is in
// 90 kHz units. codec must be H264 or H265; the PSM announces it.
func (m *Muxer) Video(codec Codec, nalus [][]byte, pts int64, keyframe bool) []byte {
	size := 0
	for _, n := range nalus {
		size += 4 + len(n)
	}
	es := make([]byte, 0, size)
	for _, n := range nalus {
		es = append(es, 0, 0, 0, 1)
		es = append(es, n...)
	}
	tables := keyframe || codec != m.video
	m.video = codec
	out := make([]byte, 0, size+size/MaxPESPayload*14+128)
	out = m.packHeader(out, pts)
	if tables {
		out = m.tables(out)
	}
	return appendPES(out, videoStreamID, es, pts)
}

// Audio returns the PS bytes of one audio frame (raw G.711 samples or an
// ADTS AAC frame) with its 90 kHz pts.
func (m *Muxer) Audio(codec Codec, payload []byte, pts int64) []byte {
	every := m.AudioTablesEvery
	if every <= 0 {
		every = 50
	}
	tables := codec != m.audio || (m.video == CodecUnknown && m.audioFrames%every == 0)
	m.audio = codec
	m.audioFrames++
	out := make([]byte, 0, len(payload)+128)
	out = m.packHeader(out, pts)
	if tables {
		out = m.tables(out)
	}
	return appendPES(out, audioStreamID, payload, pts)
}

// packHeader appends an MPEG-2 pack header (14 bytes, no stuffing) with SCR = pts.
func (m *Muxer) packHeader(out []byte, pts int64) []byte {
	scr := uint64(pts) & (1<<33 - 1)
	rate := m.MuxRate
	if rate == 0 {
		rate = 25200
	}
	rate &= 1<<22 - 1
	return append(out, 0, 0, 1, 0xBA,
		0x44|byte(scr>>27&0x38)|byte(scr>>28&0x03),
		byte(scr>>20),
		byte(scr>>12&0xF8)|0x04|byte(scr>>13&0x03),
		byte(scr>>5),
		byte(scr<<3)|0x04, // SCR extension 0
		0x01,
		byte(rate>>14), byte(rate>>6), byte(rate<<2)|0x03,
		0xF8)
}

// tables appends a system header and a PSM naming the streams in use.
func (m *Muxer) tables(out []byte) []byte {
	type es struct {
		id, st uint8
	}
	var streams []es
	if m.video != CodecUnknown {
		streams = append(streams, es{videoStreamID, streamTypeOf(m.video)})
	}
	if m.audio != CodecUnknown {
		streams = append(streams, es{audioStreamID, streamTypeOf(m.audio)})
	}
	rate := m.MuxRate
	if rate == 0 {
		rate = 25200
	}
	// System header (ISO/IEC 13818-1 §2.5.3.5).
	n := 6 + 3*len(streams)
	rb := uint32(1)<<23 | (rate&(1<<22-1))<<1 | 1
	var audioBound, videoBound byte
	if m.audio != CodecUnknown {
		audioBound = 1
	}
	if m.video != CodecUnknown {
		videoBound = 1
	}
	out = append(out, 0, 0, 1, 0xBB, byte(n>>8), byte(n),
		byte(rb>>16), byte(rb>>8), byte(rb),
		audioBound<<2, 0xE0|videoBound, 0x7F)
	for _, s := range streams {
		if s.id == videoStreamID {
			out = append(out, s.id, 0xE4, 0x00) // scale 1024, 1024 KiB
		} else {
			out = append(out, s.id, 0xC0, 0x20) // scale 128, 4 KiB
		}
	}
	// Program stream map (ISO/IEC 13818-1 §2.5.4).
	start := len(out)
	mapLen := 4 * len(streams)
	n = 10 + mapLen
	out = append(out, 0, 0, 1, 0xBC, byte(n>>8), byte(n), 0xE0, 0xFF, 0, 0, byte(mapLen>>8), byte(mapLen))
	for _, s := range streams {
		out = append(out, s.st, s.id, 0, 0)
	}
	crc := crc32MPEG(out[start:])
	return append(out, byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc))
}

// appendPES writes es as PES packets of at most MaxPESPayload bytes; the
// first carries the PTS.
func appendPES(out []byte, id uint8, es []byte, pts int64) []byte {
	first := true
	for first || len(es) > 0 {
		chunk := es[:min(len(es), MaxPESPayload)]
		es = es[len(chunk):]
		if first {
			n := 3 + 5 + len(chunk)
			p := uint64(pts) & (1<<33 - 1)
			out = append(out, 0, 0, 1, id, byte(n>>8), byte(n), 0x80, 0x80, 5,
				0x21|byte(p>>29&0x0E), byte(p>>22), byte(p>>14)|0x01, byte(p>>7), byte(p<<1)|0x01)
			first = false
		} else {
			n := 3 + len(chunk)
			out = append(out, 0, 0, 1, id, byte(n>>8), byte(n), 0x80, 0x00, 0)
		}
		out = append(out, chunk...)
	}
	return out
}

// crc32MPEG is CRC-32/MPEG-2 (polynomial 0x04C11DB7, init all ones, no reflection).
func crc32MPEG(b []byte) uint32 {
	crc := uint32(0xFFFFFFFF)
	for _, v := range b {
		crc ^= uint32(v) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04C11DB7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
