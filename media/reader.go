package media

import (
	"context"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
)

// DefaultReaderQueue is the default per-reader queue length.
const DefaultReaderQueue = 512

// ReaderOptions tune one reader.
type ReaderOptions struct {
	// Queue is the queue length in units, rounded up to a power of two;
	// 0 means the hub's Config.ReaderQueue.
	Queue int
	// VideoOnly skips every non-video unit.
	VideoOnly bool
}

// Reader reads one stream's units in order. Its queue is a single-producer
// single-consumer ring: the stream pushes under its write lock and never
// waits; Next is meant for one goroutine.
type Reader struct {
	s         *Stream
	videoOnly bool

	ring []*Unit
	mask uint64
	head atomic.Uint64 // next slot to read; written by Next
	tail atomic.Uint64 // next slot to write; written by push
	wake chan struct{} // one slot: "the ring grew"

	skip    bool // producer only: drop until the next keyframe
	dropped atomic.Uint64

	closeOnce sync.Once
	closed    chan struct{}
	release   func() // tells the hub the reader left
}

func newReader(s *Stream, size int, videoOnly bool) *Reader {
	if size <= 0 {
		size = DefaultReaderQueue
	}
	size = 1 << bits.Len(uint(size-1)) // round up to a power of two
	return &Reader{
		s:         s,
		videoOnly: videoOnly,
		ring:      make([]*Unit, size),
		mask:      uint64(size - 1),
		wake:      make(chan struct{}, 1),
		closed:    make(chan struct{}),
	}
}

// ID is the stream the reader reads.
func (r *Reader) ID() StreamID { return r.s.id }

// Tracks returns the stream's current tracks.
func (r *Reader) Tracks() []*Track { return r.s.Tracks() }

// Dropped counts units this reader lost to a full queue or while skipping
// to a keyframe.
func (r *Reader) Dropped() uint64 { return r.dropped.Load() }

// RequestKeyframe asks the stream's source for a keyframe (merged and
// rate-limited by the stream).
func (r *Reader) RequestKeyframe() { r.s.RequestKeyframe() }

// Next returns the next unit, blocking until one arrives. It returns
// ErrClosed after Close, ctx's error when ctx ends, and once the queue is
// drained, io.EOF (or the stream's end error) when the stream ended for
// good. The unit is read-only.
func (r *Reader) Next(ctx context.Context) (*Unit, error) {
	for {
		select {
		case <-r.closed:
			return nil, ErrClosed
		default:
		}
		if u := r.pop(); u != nil {
			return u, nil
		}
		select {
		case <-r.s.done:
			if u := r.pop(); u != nil {
				return u, nil
			}
			return nil, r.s.endErr
		default:
		}
		select {
		case <-r.wake:
		case <-r.s.done:
		case <-r.closed:
		case <-ctx.Done():
			return nil, fmt.Errorf("media: read %s: %w", r.s.id, ctx.Err())
		}
	}
}

func (r *Reader) pop() *Unit {
	h := r.head.Load()
	if h == r.tail.Load() {
		return nil
	}
	slot := &r.ring[h&r.mask]
	u := *slot
	*slot = nil
	r.head.Store(h + 1)
	return u
}

// push offers u to the reader without waiting. It reports an overflow: the
// reader then skips to the next keyframe (when the stream has video) and the
// caller asks for one. The stream calls push under its write lock.
func (r *Reader) push(u *Unit, f fanoutInfo) (overflow bool) {
	if r.videoOnly && !f.video {
		return false
	}
	if r.skip {
		if !f.key {
			r.dropped.Add(1)
			return false
		}
		r.skip = false
	}
	t := r.tail.Load()
	if t-r.head.Load() > r.mask {
		r.dropped.Add(1)
		r.skip = f.skipping
		return true
	}
	r.ring[t&r.mask] = u
	r.tail.Store(t + 1)
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return false
}

// fanoutInfo is what push needs to know about a unit, computed once per
// Write rather than once per reader.
type fanoutInfo struct {
	video    bool // u is a video unit
	key      bool // a skipping reader may resume at u
	skipping bool // the stream has a key track, so overflow skips to it
}

// Close stops the reader; the last reader of an on-demand stream starts its
// idle timer. It is idempotent.
func (r *Reader) Close() {
	r.closeOnce.Do(func() {
		close(r.closed)
		r.s.removeReader(r)
		if r.release != nil {
			r.release()
		}
	})
}
