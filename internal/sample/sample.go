// Package sample ships the demo media: 8 s of H.264 (Main profile, 640x360,
// 25 fps, one keyframe every 2 s, made with ffmpeg's testsrc2) and 8 s of
// G.711 A-law (a 440 Hz tone, 8 kHz mono), and plays them in a real-time
// loop with continuous timestamps. The demo streams and the GB28181
// simulator use it. It imports nothing of ours.
//
// Regenerate with:
//
//	ffmpeg -f lavfi -i testsrc2=size=640x360:rate=25 -t 8 -c:v libx264 -profile:v main -bf 0 \
//	  -g 50 -keyint_min 50 -sc_threshold 0 -b:v 600k -maxrate 700k -bufsize 700k -pix_fmt yuv420p \
//	  -x264-params slices=1:aud=0:repeat-headers=1 -f h264 demo.h264
//	ffmpeg -f lavfi -i sine=frequency=440:sample_rate=8000 -t 8 -ac 1 -ar 8000 -f alaw demo.alaw
package sample

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"sync"
	"time"
)

// FPS is the sample's frame rate.
const FPS = 25

// AudioChunk is the duration of one audio chunk Loop emits (20 ms = 160 samples).
const AudioChunk = 20 * time.Millisecond

//go:embed demo.h264
var h264File []byte

//go:embed demo.alaw
var alawFile []byte

// Frame is one H.264 access unit.
type Frame struct {
	NALUs    [][]byte // without start codes
	Keyframe bool
}

var (
	once   sync.Once
	frames []Frame
	errVid error
)

// Video returns the sample's access units in decoding order.
func Video() ([]Frame, error) {
	once.Do(func() { frames, errVid = SplitAccessUnits(h264File) })
	return frames, errVid
}

// Audio returns the sample's A-law samples (8000 Hz, mono).
func Audio() []byte { return alawFile }

// SplitNALUs splits an Annex-B byte stream into NAL units.
func SplitNALUs(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				out = append(out, trimZeros(b[start:i]))
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	kept := out[:0]
	for _, n := range out {
		if len(n) > 0 {
			kept = append(kept, n)
		}
	}
	return kept
}

func trimZeros(n []byte) []byte { return bytes.TrimRight(n, "\x00") }

// SplitAccessUnits groups an H.264 Annex-B stream into access units: a new
// unit starts at an AUD/SPS/PPS/SEI after a slice, or at a slice whose
// first_mb_in_slice is 0.
func SplitAccessUnits(b []byte) ([]Frame, error) {
	var out []Frame
	var cur Frame
	seenVCL := false
	flush := func() {
		if seenVCL {
			out = append(out, cur)
		}
		cur, seenVCL = Frame{}, false
	}
	for _, n := range SplitNALUs(b) {
		typ := n[0] & 0x1f
		switch {
		case typ == 9 || typ == 7 || typ == 8 || typ == 6:
			if seenVCL {
				flush()
			}
			if typ == 9 {
				continue // access unit delimiters are not forwarded
			}
		case typ == 1 || typ == 5:
			if seenVCL && len(n) > 1 && n[1]&0x80 != 0 {
				flush()
			}
			seenVCL = true
			if typ == 5 {
				cur.Keyframe = true
			}
		}
		cur.NALUs = append(cur.NALUs, n)
	}
	flush()
	if len(out) == 0 {
		return nil, errors.New("sample: no H.264 access units")
	}
	return out, nil
}

// Sink receives the looping sample. PTS is in 90 kHz units for video and in
// 8 kHz units for audio; both grow forever across loops.
type Sink interface {
	Video(f Frame, pts int64)
	Audio(alaw []byte, pts int64)
}

// Loop plays the sample to sink in real time until ctx ends. Video and audio
// share one clock, so they stay in sync across loops.
func Loop(ctx context.Context, sink Sink) error {
	vid, err := Video()
	if err != nil {
		return err
	}
	aud := Audio()
	const chunk = 160 // samples per 20 ms
	start := time.Now()
	var vi, ai int64 // frames and audio chunks emitted so far
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		elapsed := time.Since(start)
		for time.Duration(vi)*time.Second/FPS <= elapsed {
			sink.Video(vid[vi%int64(len(vid))], vi*90000/FPS)
			vi++
		}
		for time.Duration(ai)*AudioChunk <= elapsed && len(aud) >= chunk {
			n := int64(len(aud) / chunk)
			off := (ai % n) * chunk
			sink.Audio(aud[off:off+chunk], ai*chunk)
			ai++
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
