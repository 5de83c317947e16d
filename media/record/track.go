package record

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/g711"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"pingan/media"
)

var errNoParams = errors.New("record: video parameter sets not received yet")

// track is one recorded track: the media track it reads, its fMP4 id and
// timescale, and the sample held back until the next one gives its duration
// (fMP4 stores durations, and a duration is the next DTS minus this one).
type track struct {
	src   int // index into the stream's tracks
	id    int // fMP4 track id, from 1
	codec media.Codec
	scale int64 // timescale = the track's clock rate
	chans int

	sps, pps, vps []byte // video parameter sets (from the track or in-band)
	aacConf       []byte
	dts264        *h264.DTSExtractor
	dts265        *h265.DTSExtractor
	lastAbsDTS    int64 // last DTS in clock units, for fallbacks
	hasAbsDTS     bool

	origin  int64 // recording start in this track's clock units
	held    *fmp4.Sample
	heldDTS int64 // DTS of the last pushed sample, relative to origin
	pushed  bool  // heldDTS is valid
	lastDur uint32

	samples []*fmp4.Sample // finished samples of the open fragment
	base    int64          // relative DTS of samples[0]
	end     int64          // relative DTS after the last written sample
}

// newTrack maps a media track to a recorded one, or returns nil with the
// reason when the recorder cannot store its codec.
func newTrack(src int, t *media.Track) (*track, error) {
	tr := &track{src: src, codec: t.Codec, scale: int64(t.ClockRate), chans: max(t.Channels, 1),
		sps: bytes.Clone(t.SPS), pps: bytes.Clone(t.PPS), vps: bytes.Clone(t.VPS),
		aacConf: bytes.Clone(t.AACConfig)}
	switch t.Codec {
	case media.H264:
		tr.dts264 = &h264.DTSExtractor{}
		tr.dts264.Initialize()
	case media.H265:
		tr.dts265 = &h265.DTSExtractor{}
		tr.dts265.Initialize()
	case media.PCMA, media.PCMU, media.Opus:
	case media.AAC:
		var c mpeg4audio.AudioSpecificConfig
		if err := c.Unmarshal(t.AACConfig); err != nil {
			return nil, fmt.Errorf("AAC config: %w", err)
		}
	default:
		return nil, fmt.Errorf("codec %q: %w", t.Codec, media.ErrUnsupportedCodec)
	}
	if tr.scale <= 0 {
		return nil, fmt.Errorf("codec %q: clock rate %d", t.Codec, t.ClockRate)
	}
	return tr, nil
}

// initTrack describes the track for the init segment. Video needs its
// parameter sets, which may only arrive in-band with the first keyframe.
func (t *track) initTrack() (*fmp4.InitTrack, error) {
	it := &fmp4.InitTrack{ID: t.id, TimeScale: uint32(t.scale)}
	switch t.codec {
	case media.H264:
		if t.sps == nil || t.pps == nil {
			return nil, errNoParams
		}
		it.Codec = &mp4.CodecH264{SPS: t.sps, PPS: t.pps}
	case media.H265:
		if t.vps == nil || t.sps == nil || t.pps == nil {
			return nil, errNoParams
		}
		it.Codec = &mp4.CodecH265{VPS: t.vps, SPS: t.sps, PPS: t.pps}
	case media.Opus:
		it.Codec = &mp4.CodecOpus{ChannelCount: t.chans}
	case media.AAC:
		var c mpeg4audio.AudioSpecificConfig
		if err := c.Unmarshal(t.aacConf); err != nil {
			return nil, fmt.Errorf("record: AAC config: %w", err)
		}
		it.Codec = &mp4.CodecMPEG4Audio{Config: c}
	default: // G.711 has no MP4 sample entry: it is stored as 16-bit PCM
		it.Codec = &mp4.CodecLPCM{BitDepth: 16, SampleRate: int(t.scale), ChannelCount: t.chans}
	}
	return it, nil
}

// learnParams picks parameter sets out of an access unit.
func (t *track) learnParams(au [][]byte) {
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		if t.codec == media.H264 {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				t.sps = n
			case h264.NALUTypePPS:
				t.pps = n
			}
			continue
		}
		if len(n) < 2 {
			continue
		}
		switch h265.NALUType((n[0] >> 1) & 0x3f) {
		case h265.NALUType_VPS_NUT:
			t.vps = n
		case h265.NALUType_SPS_NUT:
			t.sps = n
		case h265.NALUType_PPS_NUT:
			t.pps = n
		}
	}
}

// withParams prepends the known parameter sets to a keyframe that lacks
// them, so the DTS extractor and decoders that join mid-file find them. It
// never changes the unit's (read-only) slice.
func (t *track) withParams(au [][]byte) [][]byte {
	has := false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		if t.codec == media.H264 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS ||
			t.codec == media.H265 && h265.NALUType((n[0]>>1)&0x3f) == h265.NALUType_SPS_NUT {
			has = true
		}
	}
	if has || t.sps == nil || t.pps == nil {
		return au
	}
	pre := [][]byte{t.sps, t.pps}
	if t.codec == media.H265 && t.vps != nil {
		pre = [][]byte{t.vps, t.sps, t.pps}
	}
	return append(pre, au...)
}

// sample turns a unit into an fMP4 sample and its DTS in clock units.
func (t *track) sample(u *media.Unit) (*fmp4.Sample, int64, error) {
	if !t.codec.IsVideo() {
		s := &fmp4.Sample{Payload: u.Payload}
		switch t.codec {
		case media.PCMA:
			var pcm g711.Alaw
			pcm.Unmarshal(u.Payload)
			s.Payload = pcm
		case media.PCMU:
			var pcm g711.Mulaw
			pcm.Unmarshal(u.Payload)
			s.Payload = pcm
		}
		return s, u.PTS, nil
	}
	au := u.NALUs
	if u.Keyframe {
		au = t.withParams(au)
	}
	dts := t.extractDTS(au, u.PTS)
	s := &fmp4.Sample{}
	var err error
	if t.codec == media.H264 {
		err = s.FillH264(int32(u.PTS-dts), au)
	} else {
		err = s.FillH265(int32(u.PTS-dts), au)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("record: %s access unit: %w", t.codec, err)
	}
	return s, dts, nil
}

// extractDTS derives the decoding time from the PTS (B-frames make them
// differ). When the extractor cannot tell, DTS = PTS, kept increasing.
func (t *track) extractDTS(au [][]byte, pts int64) int64 {
	var dts int64
	var err error
	if t.dts264 != nil {
		dts, err = t.dts264.Extract(au, pts)
	} else {
		dts, err = t.dts265.Extract(au, pts)
	}
	if err != nil {
		dts = pts
	}
	if t.hasAbsDTS && dts <= t.lastAbsDTS {
		dts = t.lastAbsDTS + 1
	}
	t.lastAbsDTS, t.hasAbsDTS = dts, true
	return dts
}

// push holds s back and releases the previously held sample, now that its
// duration is known. rel is s's DTS relative to the origin.
func (t *track) push(s *fmp4.Sample, rel int64) {
	if t.held != nil {
		t.release(uint32(rel - t.heldDTS))
	}
	t.held, t.heldDTS, t.pushed = s, rel, true
}

// release moves the held sample, with duration d, into the open fragment.
func (t *track) release(d uint32) {
	if d == 0 {
		d = 1
	}
	t.held.Duration = d
	t.lastDur = d
	if len(t.samples) == 0 {
		t.base = t.heldDTS
	}
	t.samples = append(t.samples, t.held)
	t.held = nil
}

// releaseLast releases the held sample at the end of a recording, guessing
// its duration: exact for PCM, else the previous sample's.
func (t *track) releaseLast() {
	if t.held == nil {
		return
	}
	d := t.lastDur
	switch {
	case t.codec == media.PCMA || t.codec == media.PCMU:
		d = uint32(len(t.held.Payload) / 2 / t.chans)
	case d != 0:
	case t.codec.IsVideo():
		d = uint32(t.scale / 25)
	case t.codec == media.AAC:
		d = 1024
	default:
		d = uint32(t.scale / 50) // a 20 ms Opus frame
	}
	t.release(d)
}

// take returns the open fragment's samples as a part track and starts a new
// fragment.
func (t *track) take() *fmp4.PartTrack {
	if len(t.samples) == 0 {
		return nil
	}
	pt := &fmp4.PartTrack{ID: t.id, BaseTime: uint64(t.base), Samples: t.samples}
	t.end = t.base
	for _, s := range t.samples {
		t.end += int64(s.Duration)
	}
	t.samples = nil
	return pt
}
