package media

import (
	"errors"
	"fmt"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtplpcm"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpsimpleaudio"
	"github.com/pion/rtp"
)

// aacSamplesPerUnit is the duration of one AAC access unit in samples.
const aacSamplesPerUnit = 1024

// Depacketizer turns one track's incoming RTP packets (an RTSP pull, a WHIP
// publisher) into units, with gortsplib's decoders. PTS counts from the
// first packet's timestamp and survives 32-bit wraps. Units own their
// bytes (copied out of the packets). Not safe for concurrent use.
type Depacketizer struct {
	codec  Codec
	decode func(pkt *rtp.Packet) ([]*Unit, error)

	started bool
	lastTS  uint32
	ext     int64 // timestamp of lastTS relative to the first packet

	prevTS uint32 // timestamp of the previous packet given to the decoder

	out []*Unit // reused result slice
}

// NewDepacketizer returns a depacketizer for t's codec.
func NewDepacketizer(t *Track) (*Depacketizer, error) {
	d := &Depacketizer{codec: t.Codec}
	switch t.Codec {
	case H264:
		dec := &rtph264.Decoder{PacketizationMode: 1}
		if err := dec.Init(); err != nil {
			return nil, err
		}
		d.decode = func(pkt *rtp.Packet) ([]*Unit, error) { return d.pushH264(dec, pkt) }
	case H265:
		dec := &rtph265.Decoder{}
		if err := dec.Init(); err != nil {
			return nil, err
		}
		d.decode = func(pkt *rtp.Packet) ([]*Unit, error) { return d.pushH265(dec, pkt) }
	case PCMA, PCMU:
		dec := &rtplpcm.Decoder{BitDepth: 8, ChannelCount: max(t.Channels, 1)}
		if err := dec.Init(); err != nil {
			return nil, err
		}
		d.decode = func(pkt *rtp.Packet) ([]*Unit, error) {
			frame, err := dec.Decode(pkt)
			return d.pushFrame(pkt.Timestamp, frame, err)
		}
	case Opus:
		dec := &rtpsimpleaudio.Decoder{}
		if err := dec.Init(); err != nil {
			return nil, err
		}
		d.decode = func(pkt *rtp.Packet) ([]*Unit, error) {
			frame, err := dec.Decode(pkt)
			return d.pushFrame(pkt.Timestamp, frame, err)
		}
	case AAC:
		dec := &rtpmpeg4audio.Decoder{SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
		if err := dec.Init(); err != nil {
			return nil, err
		}
		d.decode = func(pkt *rtp.Packet) ([]*Unit, error) { return d.pushAAC(dec, pkt) }
	default:
		return nil, fmt.Errorf("depacketizer for %q: %w", t.Codec, ErrUnsupportedCodec)
	}
	return d, nil
}

// Push decodes one packet and returns the units it completed (often none).
// The returned slice is valid until the next Push; the units are the
// caller's. Packets that only continue a unit, or fragments without their
// start, are normal and return no error. Callers set Unit.Track.
func (d *Depacketizer) Push(pkt *rtp.Packet) ([]*Unit, error) {
	clear(d.out)
	d.out = d.out[:0]
	units, err := d.decode(pkt)
	if err != nil {
		return nil, fmt.Errorf("depacketize %s: %w", d.codec, err)
	}
	return units, nil
}

// pts maps an RTP timestamp to clock units since the first packet.
func (d *Depacketizer) pts(ts uint32) int64 {
	if !d.started {
		d.started, d.lastTS = true, ts
		return 0
	}
	d.ext += int64(int32(ts - d.lastTS))
	d.lastTS = ts
	return d.ext
}

func (d *Depacketizer) pushH264(dec *rtph264.Decoder, pkt *rtp.Packet) ([]*Unit, error) {
	prev := d.prevTS
	d.prevTS = pkt.Timestamp
	au, err := dec.Decode(pkt)
	switch {
	case errors.Is(err, rtph264.ErrMorePacketsNeeded),
		errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious):
		return nil, nil
	case err != nil:
		return nil, err
	}
	ts := pkt.Timestamp
	if !pkt.Marker {
		// No marker: the decoder split on a timestamp change, so au is
		// the previous packets' and this packet starts the next unit.
		ts = prev
	}
	return d.videoUnit(au, ts, false), nil
}

func (d *Depacketizer) pushH265(dec *rtph265.Decoder, pkt *rtp.Packet) ([]*Unit, error) {
	au, err := dec.Decode(pkt)
	switch {
	case errors.Is(err, rtph265.ErrMorePacketsNeeded),
		errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return d.videoUnit(au, pkt.Timestamp, true), nil
}

// videoUnit copies au's non-empty NALUs into one buffer and builds the unit.
func (d *Depacketizer) videoUnit(au [][]byte, ts uint32, isH265 bool) []*Unit {
	size, n := 0, 0
	for _, nalu := range au {
		if len(nalu) > 0 {
			size += len(nalu)
			n++
		}
	}
	pts := d.pts(ts)
	if n == 0 {
		return nil
	}
	buf := make([]byte, 0, size)
	nalus := make([][]byte, 0, n)
	for _, nalu := range au {
		if len(nalu) > 0 {
			start := len(buf)
			buf = append(buf, nalu...)
			nalus = append(nalus, buf[start:len(buf):len(buf)])
		}
	}
	u := &Unit{PTS: pts, NALUs: nalus, Keyframe: isRandomAccess(isH265, nalus)}
	d.out = append(d.out, u)
	return d.out
}

// pushFrame makes one unit of a single-packet audio frame.
func (d *Depacketizer) pushFrame(ts uint32, frame []byte, err error) ([]*Unit, error) {
	if err != nil {
		return nil, err
	}
	if len(frame) == 0 {
		return nil, nil
	}
	u := &Unit{PTS: d.pts(ts), Payload: append([]byte(nil), frame...)}
	d.out = append(d.out, u)
	return d.out, nil
}

func (d *Depacketizer) pushAAC(dec *rtpmpeg4audio.Decoder, pkt *rtp.Packet) ([]*Unit, error) {
	aus, err := dec.Decode(pkt)
	switch {
	case errors.Is(err, rtpmpeg4audio.ErrMorePacketsNeeded):
		return nil, nil
	case err != nil:
		return nil, err
	}
	pts := d.pts(pkt.Timestamp)
	for i, au := range aus {
		if len(au) == 0 {
			continue
		}
		u := &Unit{PTS: pts + int64(i)*aacSamplesPerUnit, Payload: append([]byte(nil), au...)}
		d.out = append(d.out, u)
	}
	return d.out, nil
}
