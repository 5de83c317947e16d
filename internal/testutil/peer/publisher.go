package peer

import (
	"context"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/sample"
)

// H264 is the publishers' video codec (constrained baseline 3.1).
var H264 = pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}

// Opus is the publishers' audio codec label (the sample's A-law bytes
// travel under it; nobody decodes them).
var Opus = pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}

// Tracks are a publisher's local tracks: audio and one video track per
// simulcast layer.
type Tracks struct {
	Audio *pwebrtc.TrackLocalStaticRTP
	Video []*pwebrtc.TrackLocalStaticRTP
}

// AddTracks adds to pc, send-only, an Opus track (the first m-line) and an
// H.264 track per rid, the layers as encodings of one sender (one plain
// track without rids). audioID and videoID are the track ids, streamID the
// msid label of both.
func AddTracks(pc *pwebrtc.PeerConnection, audioID, videoID, streamID string, rids []string) (Tracks, error) {
	var t Tracks
	var err error
	if t.Audio, err = pwebrtc.NewTrackLocalStaticRTP(Opus, audioID, streamID); err != nil {
		return t, err
	}
	sendonly := pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionSendonly}
	if _, err := pc.AddTransceiverFromTrack(t.Audio, sendonly); err != nil {
		return t, err
	}
	var vsnd *pwebrtc.RTPSender
	for i, rid := range append([]string{""}, rids...)[min(len(rids), 1):] {
		var opts []func(*pwebrtc.TrackLocalStaticRTP)
		if rid != "" {
			opts = append(opts, pwebrtc.WithRTPStreamID(rid))
		}
		v, err := pwebrtc.NewTrackLocalStaticRTP(H264, videoID, streamID, opts...)
		if err != nil {
			return t, err
		}
		t.Video = append(t.Video, v)
		if i > 0 {
			if err := vsnd.AddEncoding(v); err != nil {
				return t, err
			}
			continue
		}
		tr, err := pc.AddTransceiverFromTrack(v, sendonly)
		if err != nil {
			return t, err
		}
		vsnd = tr.Sender()
	}
	return t, nil
}

// Pump sends the looping sample on Tracks until ctx ends: each video frame
// as Annex B (plus Filler, when set, as one more NALU) packetized for MTU
// 1200 on every layer with its own sequence numbers, each audio frame as
// one packet with 48 kHz timestamps.
type Pump struct {
	Tracks
	Filler []byte
	// EditVideo and EditAudio, when set, change a packet before it is
	// written (header extensions pion does not add itself).
	EditVideo func(tr *pwebrtc.TrackLocalStaticRTP, p *rtp.Packet)
	EditAudio func(p *rtp.Packet)
}

// Run sends until ctx ends.
func (pm Pump) Run(ctx context.Context) error {
	var pay codecs.H264Payloader
	seq := make([]uint16, len(pm.Video))
	var aseq uint16
	return sample.Loop(ctx, SinkFuncs{
		V: func(f sample.Frame, pts int64) {
			var annexB []byte
			for _, n := range f.NALUs {
				annexB = append(append(annexB, 0, 0, 0, 1), n...)
			}
			if pm.Filler != nil {
				annexB = append(append(annexB, 0, 0, 0, 1), pm.Filler...)
			}
			pl := pay.Payload(1200, annexB)
			for li, tr := range pm.Video {
				for i, b := range pl {
					p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq[li],
						Timestamp: uint32(pts), Marker: i == len(pl)-1}, Payload: b}
					if pm.EditVideo != nil {
						pm.EditVideo(tr, p)
					}
					_ = tr.WriteRTP(p)
					seq[li]++
				}
			}
		},
		A: func(b []byte, pts int64) {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: aseq, Timestamp: uint32(pts * 6), Marker: true}, Payload: b}
			if pm.EditAudio != nil {
				pm.EditAudio(p)
			}
			_ = pm.Audio.WriteRTP(p)
			aseq++
		},
	})
}

// SinkFuncs is a sample.Sink made of two functions.
type SinkFuncs struct {
	V func(f sample.Frame, pts int64)
	A func(b []byte, pts int64)
}

// Video calls V.
func (s SinkFuncs) Video(f sample.Frame, pts int64) { s.V(f, pts) }

// Audio calls A.
func (s SinkFuncs) Audio(b []byte, pts int64) { s.A(b, pts) }
