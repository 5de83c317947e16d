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

// outTrack is one hub track sent to one browser. It implements
// pwebrtc.TrackLocal itself (instead of TrackLocalStaticRTP) because each
// subscriber needs its own sequence/timestamp offsets and must start video
// at a keyframe. The hub's packets are shared and read-only: every write
// builds a fresh header and passes the shared payload through.
type outTrack struct {
	localTrack

	// Forwarding state, touched only by the session's forward goroutine.
	started  bool   // video: a keyframe has been sent
	haveLast bool   // lastIn/lastOut are valid
	lastIn   uint16 // last source sequence number forwarded
	lastOut  uint16
	seqOff   uint16
	tsOff    uint32
	// hdr is reused for every packet: WriteRTP and the interceptors only
	// read it during the call, and a fresh header per packet escaped to
	// the heap (one allocation per packet per viewer).
	hdr     rtp.Header
	latency *LatencyHistogram // Config.WriteLatency

	packets, bytes atomic.Uint64
	skipped        atomic.Uint64 // units dropped while waiting for the first keyframe
}

type trackBinding struct {
	w    pwebrtc.TrackLocalWriter
	ssrc uint32
	pt   uint8
}

func newOutTrack(kind pwebrtc.RTPCodecType, c pwebrtc.RTPCodecCapability, streamID string, index int) *outTrack {
	return &outTrack{
		localTrack: localTrack{id: fmt.Sprintf("%s%d", kind, index), streamID: streamID, kind: kind, capability: c},
		seqOff:     uint16(rand.Uint32()),
		tsOff:      rand.Uint32(),
	}
}

// localTrack is the pwebrtc.TrackLocal part shared by WHEP session tracks
// (outTrack) and room subscriber tracks (downTrack): identity, the codec
// offered, and the writer pion binds.
type localTrack struct {
	id, streamID string
	kind         pwebrtc.RTPCodecType
	capability   pwebrtc.RTPCodecCapability
	binding      atomic.Pointer[trackBinding]
}

// Bind picks the negotiated codec closest to the source's and keeps the
// writer (pwebrtc.TrackLocal).
func (t *localTrack) Bind(ctx pwebrtc.TrackLocalContext) (pwebrtc.RTPCodecParameters, error) {
	c, ok := chooseCodec(t.capability, ctx.CodecParameters())
	if !ok {
		return pwebrtc.RTPCodecParameters{}, fmt.Errorf("%w: %s", pwebrtc.ErrUnsupportedCodec, t.capability.MimeType)
	}
	t.binding.Store(&trackBinding{w: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType)})
	return c, nil
}

// Unbind forgets the writer (pwebrtc.TrackLocal).
func (t *localTrack) Unbind(pwebrtc.TrackLocalContext) error {
	t.binding.Store(nil)
	return nil
}

func (t *localTrack) ID() string                 { return t.id }
func (t *localTrack) RID() string                { return "" }
func (t *localTrack) StreamID() string           { return t.streamID }
func (t *localTrack) Kind() pwebrtc.RTPCodecType { return t.kind }

// errTrackClosed means the PeerConnection is gone.
var errTrackClosed = errors.New("webrtc: track closed")

// writeUnit sends a unit's packets. Video waits for its first keyframe. A
// jump in the source sequence numbers means the reader skipped units after
// an overflow: the offset is moved so the browser sees no gap (the
// timestamps keep their real distance). now is when the unit's write began.
func (t *outTrack) writeUnit(u *media.Unit, now time.Time) (keyframeSent bool, err error) {
	b := t.binding.Load()
	if b == nil {
		return false, nil
	}
	if t.kind == pwebrtc.RTPCodecTypeVideo && !t.started {
		if !u.Keyframe {
			t.skipped.Add(1)
			return false, nil
		}
		t.started = true
	}
	var n, size uint64
	for _, p := range u.Packets {
		if t.haveLast && p.SequenceNumber != t.lastIn+1 {
			t.seqOff = t.lastOut + 1 - p.SequenceNumber
		}
		t.hdr = rtp.Header{
			Version:        2,
			Marker:         p.Marker,
			PayloadType:    b.pt,
			SequenceNumber: p.SequenceNumber + t.seqOff,
			Timestamp:      p.Timestamp + t.tsOff,
			SSRC:           b.ssrc,
		}
		t.lastIn, t.lastOut, t.haveLast = p.SequenceNumber, t.hdr.SequenceNumber, true
		if t.latency != nil && !u.Received.IsZero() {
			t.latency.Record(now.Sub(u.Received))
		}
		if _, err := b.w.WriteRTP(&t.hdr, p.Payload); err != nil {
			t.packets.Add(n)
			t.bytes.Add(size)
			if errors.Is(err, io.ErrClosedPipe) || errors.Is(err, io.EOF) {
				return false, errTrackClosed
			}
			return false, err
		}
		n++
		size += uint64(len(p.Payload) + 12)
	}
	t.packets.Add(n)
	t.bytes.Add(size)
	return u.Keyframe && t.kind == pwebrtc.RTPCodecTypeVideo && n > 0, nil
}
