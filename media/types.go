// Package media is the stream hub: streams with one publisher and many
// readers, a GOP cache per stream, bounded per-reader queues, on-demand
// sources with idle stop, and RTP packetization done once per stream so
// every WebRTC/RTSP reader shares the same packets. It imports only configs
// (plus pion/rtp and gortsplib's format packages for packetizing).
package media

import (
	"context"
	"errors"
	"time"

	"github.com/pion/rtp"
)

// StreamID names a stream: "gb/{channel}", "rtsp/{name}", "room/{id}/{participant}", "demo/1".
type StreamID string

// Codec names a track's codec.
type Codec string

// Codecs the hub passes through (never transcoded).
const (
	H264 Codec = "H264"
	H265 Codec = "H265"
	PCMA Codec = "PCMA"
	PCMU Codec = "PCMU"
	Opus Codec = "Opus"
	AAC  Codec = "AAC" // RTSP and recording only; never offered to browsers
)

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c == H264 || c == H265 }

// Track describes one elementary stream of a stream.
type Track struct {
	Codec     Codec
	ClockRate int // 90000 for video, 8000 for G.711, 48000 for Opus
	Channels  int // audio only; 0 = 1
	// Parameter sets, updated as the source sends them (video only).
	SPS, PPS, VPS []byte
	// AACConfig is the AudioSpecificConfig (AAC only).
	AACConfig []byte
	// PayloadType is the RTP payload type the stream's packets carry.
	PayloadType uint8
}

// Unit is one access unit of one track. Once written to a stream it is
// read-only: readers that need to change a packet copy it first.
type Unit struct {
	Track int // index into the stream's tracks
	// PTS in the track's clock units, continuous for the stream's life
	// (the stream re-bases sources that restart).
	PTS      int64
	Keyframe bool
	// NALUs holds a video access unit (no start codes); Payload an audio frame.
	NALUs   [][]byte
	Payload []byte
	// Packets are the RTP packets of this unit, filled by the stream on
	// Write with a stable SSRC and continuous sequence numbers.
	Packets []*rtp.Packet
	// Received is when the unit entered the hub.
	Received time.Time
}

// Source produces a stream's units. Start blocks until ctx ends or the source
// fails; it calls s.SetTracks before its first Write. Gateways register a
// SourceFactory per id prefix, so media never imports them.
type Source interface {
	Start(ctx context.Context, s *Stream) error
}

// SourceFactory builds the source for id, or returns ErrNotFound.
type SourceFactory func(id StreamID) (Source, error)

// Sentinel errors.
var (
	ErrNotFound     = errors.New("media: no such stream")
	ErrNotReady     = errors.New("media: stream has no media yet")
	ErrPublisherSet = errors.New("media: stream already has a publisher")
	ErrClosed       = errors.New("media: closed")
	// ErrUnsupportedCodec is returned for a track whose codec the hub
	// cannot packetize or depacketize.
	ErrUnsupportedCodec = errors.New("media: unsupported codec")

	errEmptyUnit   = errors.New("media: empty unit")
	errNoSuchTrack = errors.New("media: unit for a track the stream does not have")
)
