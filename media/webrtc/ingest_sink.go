package webrtc

import (
	"bytes"
	"sync"
	"sync/atomic"

	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/media"
)

// ingestSink is one destination stream of an ingest: the main stream
// (video + audio) or a simulcast layer (video). It describes its tracks to
// the stream once it knows them: every expected track has arrived and the
// video has sent a keyframe (so the parameter sets are known), or the live
// timeout forced it. Units before that are dropped.
type ingestSink struct {
	s *media.Stream

	mu     sync.Mutex
	expect [2]bool         // video, audio
	tracks [2]*media.Track // codec per kind, once its track arrived
	keyed  bool            // a video keyframe was seen
	live   atomic.Bool
	index  [2]atomic.Int32 // stream track index per kind; -1 = not sent
}

const (
	kindVideo = 0
	kindAudio = 1
)

func newIngestSink(s *media.Stream, video, audio bool) *ingestSink {
	k := &ingestSink{s: s, expect: [2]bool{video, audio}}
	k.index[kindVideo].Store(-1)
	k.index[kindAudio].Store(-1)
	return k
}

func kindIndex(kind pwebrtc.RTPCodecType) int {
	if kind == pwebrtc.RTPCodecTypeVideo {
		return kindVideo
	}
	return kindAudio
}

// setTrack records the codec of kind's track.
func (k *ingestSink) setTrack(kind pwebrtc.RTPCodecType, t *media.Track) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tracks[kindIndex(kind)] == nil {
		c := *t
		k.tracks[kindIndex(kind)] = &c
	}
}

// write passes u to the stream once live; a keyframe may make it live.
func (k *ingestSink) write(kind pwebrtc.RTPCodecType, u *media.Unit) bool {
	ki := kindIndex(kind)
	if !k.live.Load() {
		if ki != kindVideo || !u.Keyframe {
			return false
		}
		k.learnParams(u)
		if !k.goLive(false) {
			return false
		}
	}
	idx := k.index[ki].Load()
	if idx < 0 {
		return false
	}
	u.Track = int(idx)
	k.s.Write(u)
	return true
}

// learnParams keeps the SPS/PPS/VPS of a keyframe for the track description.
func (k *ingestSink) learnParams(u *media.Unit) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keyed = true
	t := k.tracks[kindVideo]
	if t == nil {
		return
	}
	for _, n := range u.NALUs {
		if len(n) == 0 {
			continue
		}
		if t.Codec == media.H265 {
			switch (n[0] >> 1) & 0x3f {
			case 32:
				t.VPS = bytes.Clone(n)
			case 33:
				t.SPS = bytes.Clone(n)
			case 34:
				t.PPS = bytes.Clone(n)
			}
			continue
		}
		switch n[0] & 0x1f {
		case 7:
			t.SPS = bytes.Clone(n)
		case 8:
			t.PPS = bytes.Clone(n)
		}
	}
}

// goLive describes the tracks to the stream when they are all known (or
// force is set and at least one is): video first, then audio.
func (k *ingestSink) goLive(force bool) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.live.Load() {
		return true
	}
	ready := true
	for i := range k.expect {
		if k.expect[i] && k.tracks[i] == nil {
			ready = false
		}
	}
	if k.expect[kindVideo] && !k.keyed {
		ready = false
	}
	if !ready && !force {
		return false
	}
	var ts []*media.Track
	for i, t := range k.tracks {
		if t == nil {
			continue
		}
		k.index[i].Store(int32(len(ts)))
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		return false
	}
	k.s.SetTracks(ts)
	k.live.Store(true)
	return true
}
