// Package ps demultiplexes and multiplexes the MPEG-2 Program Stream
// (ISO/IEC 13818-1 §2.5) as GB28181 devices send it over RTP
// (GB/T 28181-2016 annex C "基于RTP的PS封装", and gb28181.md §13).
//
// Demuxer turns the RTP payloads of one SSRC into access units (frames):
// H.264/H.265 NAL units and G.711/AAC audio, with 90 kHz PTS/DTS. Muxer does
// the reverse, for cascade and broadcast, and Packetizer cuts PS into RTP
// packets. Everything here is pure (no I/O, no goroutines) and never panics
// on bad input.
//
// Imports: the standard library and github.com/pion/rtp only (deps_test.go
// bans pion/webrtc and gortsplib). Codec names equal media.Codec values, so
// a gateway converts with media.Codec(frame.Codec).
package ps

import "errors"

// Codec names an elementary stream codec. The values equal media.Codec's.
type Codec string

// Codecs found in GB28181 program streams.
const (
	CodecUnknown Codec = ""
	H264         Codec = "H264"
	H265         Codec = "H265"
	PCMA         Codec = "PCMA"
	PCMU         Codec = "PCMU"
	AAC          Codec = "AAC"
)

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c == H264 || c == H265 }

// Stream types of the program stream map (ISO/IEC 13818-1 table 2-34 and
// GB/T 28181-2016 annex C).
const (
	StreamTypeMPEG4 = 0x10
	StreamTypeAAC   = 0x0F
	StreamTypeH264  = 0x1B
	StreamTypeH265  = 0x24
	StreamTypeSVAC  = 0x80
	StreamTypePCMA  = 0x90
	StreamTypePCMU  = 0x91
	StreamTypeG7221 = 0x92
	StreamTypeG7231 = 0x93
	StreamTypeG729  = 0x99
)

// codecOfStreamType maps a PSM stream_type to a Codec (CodecUnknown for the
// ones we do not pass through, such as SVAC or G.729).
func codecOfStreamType(t uint8) Codec {
	switch t {
	case StreamTypeH264:
		return H264
	case StreamTypeH265:
		return H265
	case StreamTypePCMA:
		return PCMA
	case StreamTypePCMU:
		return PCMU
	case StreamTypeAAC:
		return AAC
	}
	return CodecUnknown
}

func streamTypeOf(c Codec) uint8 {
	switch c {
	case H264:
		return StreamTypeH264
	case H265:
		return StreamTypeH265
	case PCMA:
		return StreamTypePCMA
	case PCMU:
		return StreamTypePCMU
	case AAC:
		return StreamTypeAAC
	}
	return 0
}

// Frame is one access unit of one elementary stream.
type Frame struct {
	Codec    Codec // CodecUnknown when neither the PSM nor sniffing named it
	Video    bool
	StreamID uint8 // PES stream_id: 0xE0–0xEF video, 0xC0–0xDF audio
	// StreamType is the PSM stream_type, 0 when no PSM named the stream.
	StreamType uint8
	PTS        int64    // 90 kHz, 33 bits; the RTP timestamp if no PES carried a PTS
	DTS        int64    // equals PTS when the PES carried none
	Keyframe   bool     // video: the frame holds an IDR/IRAP or a parameter set
	NALUs      [][]byte // video: NAL units without start codes; AUDs removed
	Payload    []byte   // audio: the concatenated PES payloads (raw G.711, ADTS)
}

// Limits.
const (
	// MaxFrameSize bounds one frame's payload; larger frames are dropped.
	MaxFrameSize = 8 << 20
	// MaxPESPayload is the most payload Muxer puts in one PES packet.
	MaxPESPayload = 65000
	// DefaultMTU is the RTP payload size Packetizer uses when MTU is 0.
	DefaultMTU = 1400
)

// Errors. Demuxer.Push wraps them; it keeps going after any of them.
var (
	ErrGarbage       = errors.New("ps: bytes that are not a PS start code (resynced at the next pack header)")
	ErrFrameTooLarge = errors.New("ps: frame larger than 8 MiB dropped")
	ErrBadPES        = errors.New("ps: malformed PES header")
	ErrBadPSM        = errors.New("ps: malformed program stream map")
	ErrTruncated     = errors.New("ps: unit cut short by a new frame")
)
