package webrtc

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/media"
)

// downTrack is one forwarded track on a subscriber PeerConnection. Like
// outTrack it rewrites SSRC, payload type, sequence numbers and timestamps
// per subscriber (the hub's packets are shared and read-only), and it can
// move to another source (a simulcast layer switch): the next packet then
// continues the subscriber's sequence numbers and timestamps.
type downTrack struct {
	localTrack
	clock uint32

	// Forwarding state, touched only by the forward goroutine.
	started  bool // video: a keyframe has been sent
	haveLast bool
	rebase   bool // the next packet comes from a new source
	lastIn   uint16
	lastOut  uint16
	lastTS   uint32 // last timestamp sent
	lastAt   time.Time
	seqOff   uint16
	tsOff    uint32
	hdr      rtp.Header // reused per packet (see outTrack.hdr)

	packets, bytes *atomic.Uint64 // the subscriber's counters
}

func newDownTrack(kind pwebrtc.RTPCodecType, t *media.Track, label string, s *Subscriber) (*downTrack, error) {
	c, err := capability(t)
	if err != nil {
		return nil, err
	}
	return &downTrack{
		localTrack: localTrack{id: fmt.Sprintf("%s-%s", label, kind), streamID: label, kind: kind, capability: c},
		clock:      uint32(max(t.ClockRate, 1)), seqOff: uint16(rand.Uint32()), tsOff: rand.Uint32(),
		packets: &s.packets, bytes: &s.size,
	}, nil
}

// switchSource makes the next packet continue the subscriber's numbering.
func (t *downTrack) switchSource() { t.rebase = true }

// errNeedKeyframe: the video track has not started (it was not bound yet
// when the cached keyframe went by); the caller asks for a keyframe.
var errNeedKeyframe = errors.New("webrtc: waiting for a keyframe")

// writeUnit sends u's packets; video waits for its first keyframe. now is
// when the unit's write began.
func (t *downTrack) writeUnit(u *media.Unit, now time.Time) error {
	b := t.binding.Load()
	if b == nil {
		return nil // not negotiated yet
	}
	if t.kind == pwebrtc.RTPCodecTypeVideo && !t.started {
		if !u.Keyframe {
			return errNeedKeyframe
		}
		t.started = true
	}
	var n, size uint64
	defer func() {
		t.packets.Add(n)
		t.bytes.Add(size)
	}()
	for _, p := range u.Packets {
		t.align(p, now)
		t.hdr = rtp.Header{
			Version:        2,
			Marker:         p.Marker,
			PayloadType:    b.pt,
			SequenceNumber: p.SequenceNumber + t.seqOff,
			Timestamp:      p.Timestamp + t.tsOff,
			SSRC:           b.ssrc,
		}
		hdr := &t.hdr
		t.lastIn, t.lastOut, t.lastTS, t.lastAt, t.haveLast = p.SequenceNumber, hdr.SequenceNumber, hdr.Timestamp, now, true
		if _, err := b.w.WriteRTP(hdr, p.Payload); err != nil {
			if errors.Is(err, io.ErrClosedPipe) || errors.Is(err, io.EOF) {
				return errTrackClosed
			}
			return err
		}
		n++
		size += uint64(len(p.Payload) + 12)
	}
	return nil
}

// align moves the offsets so p continues what the subscriber saw: after a
// source switch both sequence number and timestamp (advanced by the wall
// time since the last packet); after a reader skip only the sequence number.
func (t *downTrack) align(p *rtp.Packet, now time.Time) {
	if !t.haveLast {
		return
	}
	if t.rebase {
		t.rebase = false
		t.seqOff = t.lastOut + 1 - p.SequenceNumber
		step := uint32(max(now.Sub(t.lastAt).Seconds()*float64(t.clock), 1))
		t.tsOff = t.lastTS + step - p.Timestamp
		return
	}
	if p.SequenceNumber != t.lastIn+1 {
		t.seqOff = t.lastOut + 1 - p.SequenceNumber
	}
}
