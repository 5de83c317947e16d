package gb28181

import (
	"log/slog"
	"sync/atomic"

	"pingan/media"
	"pingan/media/ps"
)

// Track discovery: the tracks are set at the first video keyframe once an
// audio frame has been seen too, or after holdFrames video frames without
// audio (a video-only camera), or after audioOnlyFrames audio frames and
// no video at all (an audio-only encoder).
const (
	holdFrames      = 3
	audioOnlyFrames = 25
	pts33           = int64(1) << 33
)

// unitWriter turns one session's PS frames into media units: it finds the
// tracks from the first frames (PSM stream types, or sniffed NAL headers
// when there is no PSM), makes the 33-bit 90 kHz PTS continuous, converts
// audio to its 8 kHz clock and writes to the stream (gb28181.md §13).
// It runs on the receiver's goroutine only.
type unitWriter struct {
	st  *media.Stream
	log *slog.Logger

	set        bool // tracks set on the stream
	video      media.Codec
	audio      media.Codec
	videoTrack int // index, -1 when absent
	audioTrack int
	pending    []ps.Frame // held until the tracks are known, from a keyframe on
	audioSeen  int        // audio frames seen before the tracks were set

	ptsInit bool
	lastRaw int64
	ext     int64 // unwrapped PTS of the last frame
	base    int64 // unwrapped PTS that becomes 0
	baseSet bool

	guessedAudio, skipped atomic.Uint64
	firstKeyframe         chan struct{} // closed at the first written keyframe
}

func newUnitWriter(st *media.Stream, log *slog.Logger) *unitWriter {
	return &unitWriter{st: st, log: log, videoTrack: -1, audioTrack: -1, firstKeyframe: make(chan struct{})}
}

// frameCodec names a frame's codec. Audio without a PSM entry is taken as
// G.711 A-law, the GB28181 default that nearly every device sends.
func (w *unitWriter) frameCodec(f ps.Frame) media.Codec {
	c := media.Codec(f.Codec)
	if c == "" && !f.Video && f.StreamID >= 0xC0 && f.StreamID <= 0xDF {
		w.guessedAudio.Add(1)
		return media.PCMA
	}
	return c
}

// push handles one frame from the receiver.
func (w *unitWriter) push(f ps.Frame) {
	codec := w.frameCodec(f)
	switch {
	case f.Video && codec != media.H264 && codec != media.H265:
		w.skipped.Add(1) // MPEG-4, SVAC: not passed through
		return
	case !f.Video && codec != media.PCMA && codec != media.PCMU:
		w.skipped.Add(1) // AAC, G.722.1, G.729 …: not offered to browsers
		return
	}
	if !w.set {
		w.hold(f, codec)
		return
	}
	if f.Video && f.Keyframe && codec != w.video {
		w.log.Info("video codec changed", "from", w.video, "to", codec)
		w.video = codec
		w.setTracks()
	}
	w.write(f, codec)
}

// hold collects frames until the tracks are known, then sets them and
// writes what it held.
func (w *unitWriter) hold(f ps.Frame, codec media.Codec) {
	switch {
	case f.Video && f.Keyframe && w.video == "":
		w.video = codec
		w.pending = append(w.pending[:0], f)
	case f.Video && w.video == "":
		w.skipped.Add(1) // before the first keyframe
		return
	case f.Video:
		w.pending = append(w.pending, f)
	default:
		w.audioSeen++
		if w.audio == "" {
			w.audio = codec
		}
		if w.video != "" {
			w.pending = append(w.pending, f)
		} else if w.audioSeen >= audioOnlyFrames {
			w.pending = append(w.pending, f) // audio-only stream
		}
	}
	videoHeld := 0
	for _, p := range w.pending {
		if p.Video {
			videoHeld++
		}
	}
	ready := (w.video != "" && (w.audio != "" || videoHeld >= holdFrames)) || (w.video == "" && w.audioSeen >= audioOnlyFrames)
	if !ready {
		return
	}
	w.setTracks()
	held := w.pending
	w.pending = nil
	for _, p := range held {
		c := w.frameCodec(p)
		if !p.Video && c != w.audio {
			continue
		}
		w.write(p, c)
	}
}

// setTracks describes the tracks found so far to the stream.
func (w *unitWriter) setTracks() {
	var tracks []*media.Track
	w.videoTrack, w.audioTrack = -1, -1
	if w.video != "" {
		w.videoTrack = len(tracks)
		tracks = append(tracks, &media.Track{Codec: w.video, ClockRate: 90000})
	}
	if w.audio != "" {
		w.audioTrack = len(tracks)
		tracks = append(tracks, &media.Track{Codec: w.audio, ClockRate: 8000, Channels: 1})
	}
	w.st.SetTracks(tracks)
	w.set = true
	w.log.Info("tracks found", "video", w.video, "audio", w.audio)
}

// write converts one frame to a unit and writes it.
func (w *unitWriter) write(f ps.Frame, codec media.Codec) {
	pts := w.unwrap(f.PTS)
	if !w.baseSet {
		w.base, w.baseSet = pts, true
	}
	rel := pts - w.base
	if f.Video {
		if w.videoTrack < 0 {
			return
		}
		w.st.Write(&media.Unit{Track: w.videoTrack, PTS: rel, Keyframe: f.Keyframe, NALUs: f.NALUs})
		if f.Keyframe {
			select {
			case <-w.firstKeyframe:
			default:
				close(w.firstKeyframe)
			}
		}
		return
	}
	if w.audioTrack < 0 || codec != w.audio || rel < 0 {
		w.skipped.Add(1)
		return
	}
	w.st.Write(&media.Unit{Track: w.audioTrack, PTS: rel * 8000 / 90000, Payload: f.Payload})
}

// unwrap extends a 33-bit PTS to a continuous int64: each frame moves the
// clock by the signed 33-bit difference from the previous frame, so audio
// slightly behind video and the 26.5-hour wrap both come out right.
func (w *unitWriter) unwrap(raw int64) int64 {
	raw &= pts33 - 1
	if !w.ptsInit {
		w.ptsInit, w.lastRaw, w.ext = true, raw, raw
		return raw
	}
	d := (raw - w.lastRaw) & (pts33 - 1)
	if d >= pts33/2 {
		d -= pts33
	}
	w.lastRaw = raw
	w.ext += d
	return w.ext
}
