package ps

import "bytes"

// splitAnnexB splits an Annex-B byte stream (ISO/IEC 14496-10 annex B) into
// NAL units without start codes. Trailing zero bytes (the leading zero of a
// 4-byte start code) are trimmed; empty units are dropped. Bytes before the
// first start code form a unit of their own.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	add := func(n []byte) {
		n = bytes.TrimRight(n, "\x00")
		if len(n) > 0 {
			out = append(out, n)
		}
	}
	start := 0
	for {
		i := bytes.Index(b[start:], []byte{0, 0, 1})
		if i < 0 {
			add(b[start:])
			return out
		}
		add(b[start : start+i])
		start += i + 3
	}
}

// sniffVideo guesses the codec from NAL headers when no PSM named the
// stream: H.265 VPS/SPS/PPS (32–34) or IDR (19–20) with the usual second
// header byte 0x01, else H.264 SPS (7) or IDR (5). It returns CodecUnknown
// when no unit decides.
func sniffVideo(nalus [][]byte) Codec {
	for _, n := range nalus {
		if len(n) >= 2 && n[0]&0x81 == 0 && n[1] == 0x01 {
			switch n[0] >> 1 & 0x3F {
			case 32, 33, 34, 19, 20:
				return H265
			}
		}
	}
	for _, n := range nalus {
		if n[0]&0x80 == 0 {
			switch n[0] & 0x1F {
			case 7, 5:
				return H264
			}
		}
	}
	return CodecUnknown
}

// sniffAudio names audio without a PSM: AAC when it starts with an ADTS
// sync word, else PCMA (the GB28181 default audio, G.711 A-law).
func sniffAudio(b []byte) Codec {
	if len(b) >= 7 && b[0] == 0xFF && b[1]&0xF6 == 0xF0 {
		return AAC
	}
	return PCMA
}

// isKeyNALU reports an IDR/IRAP picture or a parameter set.
func isKeyNALU(c Codec, h byte) bool {
	switch c {
	case H264:
		t := h & 0x1F
		return t == 5 || t == 7
	case H265:
		t := h >> 1 & 0x3F
		return (t >= 16 && t <= 21) || t == 32 || t == 33
	}
	return false
}
