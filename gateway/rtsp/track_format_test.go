package rtsp

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/sdp"

	"pingan/media"
)

// Every hub codec survives track → SDP → track, as between our read-out and
// a pull of it.
func TestTrackFormatRoundTrip(t *testing.T) {
	aacConfig := []byte{0x12, 0x10} // AAC-LC, 44.1 kHz, stereo
	b64 := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tracks := []*media.Track{
		{Codec: media.H264, ClockRate: 90000, SPS: b64("Z2QADKw7ULBLQgAAAwACAAADAD0I"), PPS: b64("aO48gA==")},
		{Codec: media.H265, ClockRate: 90000, VPS: b64("QAEMAf//AWAAAAMAkAAAAwAAAwB4mZgJ"),
			SPS: b64("QgEBAWAAAAMAkAAAAwAAAwB4oAPAgBDllmZpJMrgEAAAAwAQAAADAeCA"), PPS: b64("RAHBcrRiQA==")},
		{Codec: media.PCMA, ClockRate: 8000, Channels: 1},
		{Codec: media.PCMU, ClockRate: 8000, Channels: 1},
		{Codec: media.Opus, ClockRate: 48000, Channels: 2},
		{Codec: media.AAC, ClockRate: 44100, Channels: 2, AACConfig: aacConfig},
	}
	desc := &description.Session{}
	for i, tr := range tracks {
		m, err := formatFromTrack(tr, payloadTypeFor(tr, i))
		if err != nil {
			t.Fatalf("%s: %v", tr.Codec, err)
		}
		desc.Medias = append(desc.Medias, m)
	}
	byts, err := desc.Marshal(false)
	if err != nil {
		t.Fatal(err)
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(byts); err != nil {
		t.Fatal(err)
	}
	var back description.Session
	if err := back.Unmarshal(&sd); err != nil {
		t.Fatal(err)
	}
	bound, skipped := tracksFromDesc(&back)
	if len(skipped) != 0 || len(bound) != len(tracks) {
		t.Fatalf("bound %d, skipped %v", len(bound), skipped)
	}
	for i, b := range bound {
		want, got := tracks[i], b.track
		if got.Codec != want.Codec || got.ClockRate != want.ClockRate ||
			!bytes.Equal(got.SPS, want.SPS) || !bytes.Equal(got.PPS, want.PPS) || !bytes.Equal(got.VPS, want.VPS) ||
			!bytes.Equal(got.AACConfig, want.AACConfig) || orDefault(got.Channels, 1) != orDefault(want.Channels, 1) {
			t.Errorf("track %d: got %+v, want %+v", i, got, want)
		}
	}
	if pt := payloadTypeFor(tracks[2], 2); pt != 8 {
		t.Errorf("PCMA payload type %d, want 8", pt)
	}
}

func TestTracksFromDescSkipsUnsupported(t *testing.T) {
	desc := &description.Session{Medias: []*description.Media{
		{Type: description.MediaTypeVideo, Formats: []format.Format{&format.VP8{PayloadTyp: 96}}},
		{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}}},
	}}
	bound, skipped := tracksFromDesc(desc)
	if len(bound) != 1 || bound[0].track.Codec != media.PCMU || bound[0].index != 0 || len(skipped) != 1 {
		t.Fatalf("bound %+v skipped %v", bound, skipped)
	}
	if _, err := formatFromTrack(&media.Track{Codec: "VP8"}, 96); err == nil {
		t.Fatal("VP8 accepted")
	}
}
