package rtsp

import (
	"fmt"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"pingan/media"
)

// boundTrack ties a hub track to the RTSP media and format that carry it.
type boundTrack struct {
	index int // index into the stream's tracks
	medi  *description.Media
	forma format.Format
	track *media.Track
}

// tracksFromDesc maps an RTSP description (from a camera's DESCRIBE or a
// publisher's ANNOUNCE) to hub tracks. Each media contributes its first
// supported format; media without one is returned in skipped so the caller
// can log it.
func tracksFromDesc(desc *description.Session) (bound []boundTrack, skipped []string) {
	for _, medi := range desc.Medias {
		if medi.IsBackChannel {
			continue
		}
		var found bool
		for _, forma := range medi.Formats {
			t, ok := trackFromFormat(forma)
			if !ok {
				continue
			}
			bound = append(bound, boundTrack{index: len(bound), medi: medi, forma: forma, track: t})
			found = true
			break
		}
		if !found {
			skipped = append(skipped, mediaCodecs(medi))
		}
	}
	return bound, skipped
}

func mediaCodecs(medi *description.Media) string {
	s := string(medi.Type)
	for _, f := range medi.Formats {
		s += " " + f.Codec()
	}
	return s
}

// trackFromFormat converts one gortsplib format to a hub track.
func trackFromFormat(forma format.Format) (*media.Track, bool) {
	t := &media.Track{PayloadType: forma.PayloadType(), ClockRate: forma.ClockRate()}
	switch f := forma.(type) {
	case *format.H264:
		sps, pps := f.SafeParams()
		t.Codec, t.SPS, t.PPS = media.H264, clone(sps), clone(pps)
	case *format.H265:
		vps, sps, pps := f.SafeParams()
		t.Codec, t.VPS, t.SPS, t.PPS = media.H265, clone(vps), clone(sps), clone(pps)
	case *format.G711:
		t.Codec, t.Channels = media.PCMA, f.ChannelCount
		if f.MULaw {
			t.Codec = media.PCMU
		}
	case *format.Opus:
		t.Codec, t.Channels = media.Opus, f.ChannelCount
	case *format.MPEG4Audio:
		if f.Config == nil {
			return nil, false // LATM or no config: not supported
		}
		cfg, err := f.Config.Marshal()
		if err != nil {
			return nil, false
		}
		t.Codec, t.AACConfig, t.Channels = media.AAC, cfg, f.Config.ChannelCount
	default:
		return nil, false
	}
	return t, true
}

// formatFromTrack builds the RTSP format announced to readers for a hub
// track. pt is the payload type to announce; the caller rewrites forwarded
// packets to it.
func formatFromTrack(t *media.Track, pt uint8) (*description.Media, error) {
	switch t.Codec {
	case media.H264:
		return &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{
			PayloadTyp: pt, SPS: clone(t.SPS), PPS: clone(t.PPS), PacketizationMode: 1,
		}}}, nil
	case media.H265:
		return &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H265{
			PayloadTyp: pt, VPS: clone(t.VPS), SPS: clone(t.SPS), PPS: clone(t.PPS),
		}}}, nil
	case media.PCMA, media.PCMU:
		return &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{
			PayloadTyp: pt, MULaw: t.Codec == media.PCMU, SampleRate: orDefault(t.ClockRate, 8000),
			ChannelCount: orDefault(t.Channels, 1),
		}}}, nil
	case media.Opus:
		return &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.Opus{
			PayloadTyp: pt, ChannelCount: orDefault(t.Channels, 2),
		}}}, nil
	case media.AAC:
		var cfg mpeg4audio.AudioSpecificConfig
		if err := cfg.Unmarshal(t.AACConfig); err != nil {
			return nil, fmt.Errorf("AAC config: %w", err)
		}
		return &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.MPEG4Audio{
			PayloadTyp: pt, Config: &cfg, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3,
		}}}, nil
	default:
		return nil, fmt.Errorf("codec %q: %w", t.Codec, ErrUnsupportedCodec)
	}
}

// payloadTypeFor picks the payload type announced for track i: G.711 keeps
// its static type when it is 8 kHz mono, everything else gets a dynamic type.
func payloadTypeFor(t *media.Track, i int) uint8 {
	mono8k := orDefault(t.ClockRate, 8000) == 8000 && orDefault(t.Channels, 1) == 1
	switch {
	case t.Codec == media.PCMU && mono8k:
		return 0
	case t.Codec == media.PCMA && mono8k:
		return 8
	default:
		return uint8(96 + i%32)
	}
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
