package media

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtplpcm"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpsimpleaudio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/pion/rtp"
)

// PayloadMaxSize is the largest RTP payload the stream produces, small
// enough for WebRTC (SRTP, TURN and header extensions on a 1500-byte MTU).
const PayloadMaxSize = 1200

// packetizer turns a stream's units into RTP packets, once per stream. It
// keeps SSRCs, sequence numbers and timestamps continuous when a source
// restarts and calls SetTracks again. It is not safe for concurrent use: the
// stream calls it under its write lock.
type packetizer struct {
	tracks []*trackPacketizer
	// restart is set by setTracks after media has flowed; the next unit of
	// any track fixes shift, the time added to the new source's PTS.
	restart bool
	shift   time.Duration
}

// trackPacketizer is the per-track state of a packetizer.
type trackPacketizer struct {
	track   *Track // immutable; replaced when parameter sets change
	encode  func(u *Unit) ([]*rtp.Packet, error)
	ssrc    uint32
	tsBase  uint32
	nextSeq uint16

	started  bool  // a unit went out on this track
	rebase   bool  // the next unit fixes offset (a source restarted)
	offset   int64 // added to the source's PTS
	lastPTS  int64 // last output PTS
	frameDur int64 // last positive PTS step, in clock units
}

func randUint32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return binary.BigEndian.Uint32(b[:])
}

// setTracks (re)builds the encoders for tracks, inheriting SSRC, sequence
// number and timestamp base per track index so readers see one continuous
// RTP stream across source restarts.
func (p *packetizer) setTracks(tracks []*Track) error {
	var errs []error
	next := make([]*trackPacketizer, len(tracks))
	for i, t := range tracks {
		var tp *trackPacketizer
		if i < len(p.tracks) {
			tp = p.tracks[i]
			if tp.started {
				p.restart = true
				tp.rebase = true
			}
		} else {
			tp = &trackPacketizer{ssrc: randUint32(), tsBase: randUint32(), nextSeq: uint16(randUint32())}
			tp.rebase = p.restart || p.anyStarted()
		}
		if tp.track != nil && tp.track.ClockRate != t.ClockRate {
			tp.started = false // a different clock: the old PTS means nothing
		}
		tp.track = t
		enc, err := newEncoder(t, tp.ssrc, tp.nextSeq)
		if err != nil {
			errs = append(errs, fmt.Errorf("track %d (%s): %w", i, t.Codec, err))
		}
		tp.encode = enc // nil: the track's units are dropped
		next[i] = tp
	}
	p.tracks = next
	return errors.Join(errs...)
}

func (p *packetizer) anyStarted() bool {
	for _, tp := range p.tracks {
		if tp.started {
			return true
		}
	}
	return false
}

// defaultPayloadType returns t's payload type, or a usual one when unset.
func defaultPayloadType(t *Track) uint8 {
	if t.PayloadType != 0 || t.Codec == PCMU {
		return t.PayloadType
	}
	switch t.Codec {
	case H264:
		return 96
	case H265:
		return 97
	case PCMA:
		return 8
	case Opus:
		return 111
	default:
		return 98
	}
}

// newEncoder builds the gortsplib encoder for t as a unit-to-packets func.
func newEncoder(t *Track, ssrc uint32, seq uint16) (func(*Unit) ([]*rtp.Packet, error), error) {
	pt := defaultPayloadType(t)
	switch t.Codec {
	case H264:
		e := &rtph264.Encoder{PayloadType: pt, SSRC: &ssrc, InitialSequenceNumber: &seq,
			PayloadMaxSize: PayloadMaxSize, PacketizationMode: 1}
		if err := e.Init(); err != nil {
			return nil, err
		}
		return func(u *Unit) ([]*rtp.Packet, error) { return e.Encode(u.NALUs) }, nil
	case H265:
		e := &rtph265.Encoder{PayloadType: pt, SSRC: &ssrc, InitialSequenceNumber: &seq,
			PayloadMaxSize: PayloadMaxSize}
		if err := e.Init(); err != nil {
			return nil, err
		}
		return func(u *Unit) ([]*rtp.Packet, error) { return e.Encode(u.NALUs) }, nil
	case PCMA, PCMU:
		e := &rtplpcm.Encoder{PayloadType: pt, BitDepth: 8, ChannelCount: max(t.Channels, 1),
			SSRC: &ssrc, InitialSequenceNumber: &seq, PayloadMaxSize: PayloadMaxSize}
		if err := e.Init(); err != nil {
			return nil, err
		}
		return func(u *Unit) ([]*rtp.Packet, error) { return e.Encode(u.Payload) }, nil
	case Opus:
		e := &rtpsimpleaudio.Encoder{PayloadType: pt, SSRC: &ssrc, InitialSequenceNumber: &seq,
			PayloadMaxSize: PayloadMaxSize}
		if err := e.Init(); err != nil {
			return nil, err
		}
		return func(u *Unit) ([]*rtp.Packet, error) {
			pkt, err := e.Encode(u.Payload)
			if err != nil {
				return nil, err
			}
			return []*rtp.Packet{pkt}, nil
		}, nil
	case AAC:
		e := &rtpmpeg4audio.Encoder{PayloadType: pt, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3,
			SSRC: &ssrc, InitialSequenceNumber: &seq, PayloadMaxSize: PayloadMaxSize}
		if err := e.Init(); err != nil {
			return nil, err
		}
		return func(u *Unit) ([]*rtp.Packet, error) { return e.Encode([][]byte{u.Payload}) }, nil
	default:
		return nil, fmt.Errorf("codec %q: %w", t.Codec, ErrUnsupportedCodec)
	}
}

// packetize fills u.Packets, re-bases u.PTS after a restart and, for video,
// fixes keyframe flag and parameter sets. It reports the track's new
// description when the unit carried new parameter sets.
func (p *packetizer) packetize(u *Unit) (changed *Track, err error) {
	tp := p.tracks[u.Track]
	if tp.encode == nil {
		return nil, ErrUnsupportedCodec
	}
	if tp.track.Codec.IsVideo() {
		changed = tp.prepareVideo(u)
		if len(u.NALUs) == 0 {
			return changed, errEmptyUnit
		}
	} else if len(u.Payload) == 0 {
		return nil, errEmptyUnit
	}
	p.rebase(tp, u)
	pkts, err := tp.encode(u)
	if err != nil {
		return changed, err
	}
	ts := tp.tsBase + uint32(u.PTS)
	for _, pkt := range pkts {
		pkt.Timestamp += ts
	}
	if n := len(pkts); n > 0 {
		tp.nextSeq = pkts[n-1].SequenceNumber + 1
	}
	u.Packets = pkts
	return changed, nil
}

// rebase maps the source's PTS to the stream's continuous PTS and tracks the
// frame interval used when a restarted source starts from another PTS.
func (p *packetizer) rebase(tp *trackPacketizer, u *Unit) {
	clock := int64(max(tp.track.ClockRate, 1))
	if tp.rebase {
		if p.restart {
			// The first unit after a restart decides the shift for every
			// track, so audio and video stay in sync.
			p.restart = false
			p.shift = p.resumeAt() - fromClock(u.PTS, clock)
		}
		tp.offset = toClock(p.shift, clock)
		if out := u.PTS + tp.offset; tp.started && out <= tp.lastPTS {
			tp.offset += tp.lastPTS + tp.frameStep(u) - out
		}
		tp.rebase = false
	}
	u.PTS += tp.offset
	if tp.started {
		if d := u.PTS - tp.lastPTS; d > 0 {
			tp.frameDur = d
		}
	}
	tp.started = true
	tp.lastPTS = u.PTS
}

// resumeAt is when, in stream time, a restarted source should continue:
// the end of the latest frame of any track.
func (p *packetizer) resumeAt() time.Duration {
	var at time.Duration
	for _, tp := range p.tracks {
		if !tp.started {
			continue
		}
		clock := int64(max(tp.track.ClockRate, 1))
		if end := fromClock(tp.lastPTS+tp.frameStep(nil), clock); end > at {
			at = end
		}
	}
	return at
}

// frameStep is the track's frame interval: the last observed PTS step, or a
// codec default (u may be nil).
func (tp *trackPacketizer) frameStep(u *Unit) int64 {
	if tp.frameDur > 0 {
		return tp.frameDur
	}
	clock := int64(max(tp.track.ClockRate, 1))
	switch tp.track.Codec {
	case PCMA, PCMU:
		if u != nil && len(u.Payload) > 0 {
			return int64(len(u.Payload) / max(tp.track.Channels, 1))
		}
		return clock / 50
	case Opus:
		if u != nil && len(u.Payload) > 0 {
			if d := opus.PacketDuration2(u.Payload); d > 0 {
				return d * clock / 48000
			}
		}
		return clock / 50
	case AAC:
		return 1024
	default:
		return clock / 25
	}
}

// toClock converts d to clock units, rounding to the nearest.
func toClock(d time.Duration, clock int64) int64 {
	sec, rem := int64(d/time.Second), int64(d%time.Second)
	return sec*clock + roundDiv(rem*clock, int64(time.Second))
}

// fromClock converts v clock units to a duration, rounding to the nearest.
func fromClock(v, clock int64) time.Duration {
	sec, rem := v/clock, v%clock
	return time.Duration(sec)*time.Second + time.Duration(roundDiv(rem*int64(time.Second), clock))
}

// roundDiv divides, rounding halves away from zero (b > 0).
func roundDiv(a, b int64) int64 {
	if a < 0 {
		return -((-a + b/2) / b)
	}
	return (a + b/2) / b
}

// prepareVideo drops empty NALUs, detects keyframes, learns parameter sets
// carried in the unit and prepends the known ones to keyframes lacking them.
func (tp *trackPacketizer) prepareVideo(u *Unit) (changed *Track) {
	n := 0
	for _, nalu := range u.NALUs {
		if len(nalu) > 0 {
			u.NALUs[n] = nalu
			n++
		}
	}
	u.NALUs = u.NALUs[:n]
	if n == 0 {
		return nil
	}
	isH265 := tp.track.Codec == H265
	if !u.Keyframe {
		u.Keyframe = isRandomAccess(isH265, u.NALUs)
	}
	var vps, sps, pps []byte
	for _, nalu := range u.NALUs {
		switch naluKind(isH265, nalu) {
		case kindVPS:
			vps = nalu
		case kindSPS:
			sps = nalu
		case kindPPS:
			pps = nalu
		}
	}
	t := tp.track
	if (sps != nil && !bytes.Equal(sps, t.SPS)) || (pps != nil && !bytes.Equal(pps, t.PPS)) ||
		(vps != nil && !bytes.Equal(vps, t.VPS)) {
		nt := *t
		nt.SPS, nt.PPS, nt.VPS = pick(sps, t.SPS), pick(pps, t.PPS), pick(vps, t.VPS)
		tp.track, changed = &nt, &nt
		t = &nt
	}
	if u.Keyframe {
		u.NALUs = withParams(u.NALUs, isH265, t, vps == nil, sps == nil, pps == nil)
	}
	return changed
}

func pick(seen, known []byte) []byte {
	if seen != nil {
		return bytes.Clone(seen)
	}
	return known
}

// withParams makes sure a keyframe starts (after an access unit delimiter)
// with its parameter sets, taking the missing ones from t.
func withParams(au [][]byte, isH265 bool, t *Track, noVPS, noSPS, noPPS bool) [][]byte {
	missing := (noSPS && len(t.SPS) > 0) || (noPPS && len(t.PPS) > 0) || (isH265 && noVPS && len(t.VPS) > 0)
	if !missing {
		return au
	}
	out := make([][]byte, 0, len(au)+3)
	if naluKind(isH265, au[0]) == kindAUD {
		out = append(out, au[0])
	}
	sets := [][]byte{t.SPS, t.PPS} // t holds the unit's own sets too
	if isH265 {
		sets = [][]byte{t.VPS, t.SPS, t.PPS}
	}
	for _, ps := range sets {
		if len(ps) > 0 {
			out = append(out, ps)
		}
	}
	for _, nalu := range au {
		switch naluKind(isH265, nalu) {
		case kindAUD, kindVPS, kindSPS, kindPPS:
		default:
			out = append(out, nalu)
		}
	}
	return out
}

type naluClass int

const (
	kindOther naluClass = iota
	kindVPS
	kindSPS
	kindPPS
	kindAUD
)

// naluKind classifies a non-empty NALU.
func naluKind(isH265 bool, nalu []byte) naluClass {
	if isH265 {
		switch h265.NALUType((nalu[0] >> 1) & 0x3f) {
		case h265.NALUType_VPS_NUT:
			return kindVPS
		case h265.NALUType_SPS_NUT:
			return kindSPS
		case h265.NALUType_PPS_NUT:
			return kindPPS
		case h265.NALUType_AUD_NUT:
			return kindAUD
		}
		return kindOther
	}
	switch h264.NALUType(nalu[0] & 0x1f) {
	case h264.NALUTypeSPS:
		return kindSPS
	case h264.NALUTypePPS:
		return kindPPS
	case h264.NALUTypeAccessUnitDelimiter:
		return kindAUD
	}
	return kindOther
}

// isRandomAccess reports whether a unit of non-empty NALUs is a keyframe.
func isRandomAccess(isH265 bool, au [][]byte) bool {
	if isH265 {
		return h265.IsRandomAccess(au)
	}
	return h264.IsRandomAccess(au)
}
