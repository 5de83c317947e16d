package media

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Stream kinds, as reported in StreamInfo.Source.
const (
	SourcePush     = "push"
	SourceOnDemand = "on-demand"
)

// keyframeInterval is the least time between two keyframe requests passed
// to the source.
const keyframeInterval = 500 * time.Millisecond

// Stream is one publisher's media fanned out to many readers. Write never
// waits for a reader.
type Stream struct {
	id   StreamID
	kind string
	log  *slog.Logger
	hub  *Hub

	// writeMu serializes the publisher side: packetizing, the GOP cache and
	// pushing to reader queues (which are single-producer rings). Readers
	// never take it; Subscribe takes it briefly to hand over the GOP.
	writeMu   sync.Mutex
	pk        packetizer
	gop       gopCache
	video     []bool // per track: is video
	dropLogAt time.Time
	dropCount uint64 // drops since the last log line
	errLogAt  time.Time
	errCount  uint64

	tracks    atomic.Pointer[[]*Track]
	ready     chan struct{} // closed on the first SetTracks
	readyOnce sync.Once

	mu      sync.Mutex                // serializes changes to readers
	readers atomic.Pointer[[]*Reader] // copy-on-write snapshot

	online    atomic.Bool
	closed    atomic.Bool // the push publisher called Close
	done      chan struct{}
	endErr    error // set before done is closed
	endOnce   sync.Once
	kfReq     chan struct{} // one slot: repeated requests merge
	kfHandler atomic.Pointer[func()]

	rate       rateWindow
	written    atomic.Uint64
	dropped    atomic.Uint64
	lastPacket atomic.Int64 // unix nanoseconds
}

func newStream(h *Hub, id StreamID, kind string) *Stream {
	s := &Stream{
		id:    id,
		kind:  kind,
		log:   h.log.With("stream", string(id)),
		hub:   h,
		gop:   newGOPCache(),
		ready: make(chan struct{}),
		done:  make(chan struct{}),
		kfReq: make(chan struct{}, 1),
	}
	s.readers.Store(&[]*Reader{})
	s.tracks.Store(&[]*Track{})
	return s
}

// ID is the stream's id.
func (s *Stream) ID() StreamID { return s.id }

// Tracks returns the stream's tracks. The slice and the tracks are
// read-only; new parameter sets produce new Track values.
func (s *Stream) Tracks() []*Track { return *s.tracks.Load() }

// SetTracks describes the stream's tracks. A source calls it before its
// first Write, and again after each restart: sequence numbers and
// timestamps then continue where the previous run stopped. The tracks are
// copied.
func (s *Stream) SetTracks(tracks []*Track) {
	ts := make([]*Track, len(tracks))
	video := make([]bool, len(tracks))
	keyTrack := -1
	for i, t := range tracks {
		c := *t
		c.SPS, c.PPS, c.VPS = bytes.Clone(t.SPS), bytes.Clone(t.PPS), bytes.Clone(t.VPS)
		c.AACConfig = bytes.Clone(t.AACConfig)
		ts[i] = &c
		video[i] = c.Codec.IsVideo()
		if video[i] && keyTrack < 0 {
			keyTrack = i
		}
	}
	s.writeMu.Lock()
	if err := s.pk.setTracks(ts); err != nil {
		s.log.Warn("stream track not packetized", "error", err)
	}
	s.video = video
	s.gop.setKeyTrack(keyTrack)
	s.gop.reset() // a restarted source starts a new GOP
	s.tracks.Store(&ts)
	s.writeMu.Unlock()
	s.readyOnce.Do(func() { close(s.ready) })
	s.setOnline(true)
}

// Write packetizes u, caches it and queues it to every reader. It never
// blocks on readers. u is the stream's from now on and must not be changed;
// Write after Close, or for a track not set, drops it.
func (s *Stream) Write(u *Unit) {
	if u == nil || s.closed.Load() || s.isDone() {
		return
	}
	if u.Received.IsZero() {
		u.Received = time.Now()
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if u.Track < 0 || u.Track >= len(s.pk.tracks) {
		s.countError(u.Received, errNoSuchTrack)
		return
	}
	changed, err := s.pk.packetize(u)
	if changed != nil {
		ts := slices.Clone(*s.tracks.Load())
		ts[u.Track] = changed
		s.tracks.Store(&ts)
	}
	if err != nil {
		if !errors.Is(err, errEmptyUnit) {
			s.countError(u.Received, err)
		}
		return
	}
	s.gop.add(u)
	s.written.Add(1)
	s.lastPacket.Store(u.Received.UnixNano())
	f := fanoutInfo{video: s.video[u.Track], key: s.gop.isKey(u), skipping: s.gop.keyTrack >= 0}
	s.rate.add(u.Received, unitSize(u), u.Track == s.gop.keyTrack)
	overflow := 0
	for _, r := range *s.readers.Load() {
		if r.push(u, f) {
			overflow++
		}
	}
	if overflow > 0 {
		s.countDrops(u.Received, overflow)
		s.RequestKeyframe()
	}
}

// countDrops counts reader overflows, logging at most once a second.
func (s *Stream) countDrops(now time.Time, n int) {
	s.dropped.Add(uint64(n))
	s.dropCount += uint64(n)
	if now.Sub(s.dropLogAt) >= time.Second {
		s.log.Warn("stream readers too slow: units dropped, skipping to keyframe",
			"dropped", s.dropCount, "readers", len(*s.readers.Load()))
		s.dropLogAt, s.dropCount = now, 0
	}
}

// countError counts units that could not be packetized, logging at most
// once a second.
func (s *Stream) countError(now time.Time, err error) {
	s.errCount++
	if now.Sub(s.errLogAt) >= time.Second {
		s.log.Warn("stream units dropped: cannot packetize", "count", s.errCount, "error", err)
		s.errLogAt, s.errCount = now, 0
	}
}

// OnKeyframeRequest sets the function the stream calls (from its own
// goroutine, at most every 500 ms) when a reader needs a keyframe. Sources
// set it in Start; nil removes it.
func (s *Stream) OnKeyframeRequest(f func()) {
	if f == nil {
		s.kfHandler.Store(nil)
		return
	}
	s.kfHandler.Store(&f)
}

// RequestKeyframe asks the source for a keyframe without waiting. Repeated
// requests merge, and the source sees at most one every 500 ms.
func (s *Stream) RequestKeyframe() {
	select {
	case s.kfReq <- struct{}{}:
	default:
	}
}

// runKeyframes passes merged keyframe requests to the source's handler,
// rate-limited, until the stream ends or ctx is done.
func (s *Stream) runKeyframes(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-s.kfReq:
		case <-s.done:
			return
		case <-ctx.Done():
			return
		}
		if f := s.kfHandler.Load(); f != nil {
			(*f)()
		}
		t.Reset(keyframeInterval)
		select {
		case <-t.C:
		case <-s.done:
			return
		case <-ctx.Done():
			return
		}
	}
}

// Close ends a push stream: it goes offline, is removed from the hub and its
// readers get io.EOF once they drained their queues. On an on-demand stream
// Close does nothing (the hub stops sources). It is idempotent.
func (s *Stream) Close() {
	if s.kind != SourcePush || !s.closed.CompareAndSwap(false, true) {
		return
	}
	s.hub.unpublish(s)
}

// addReader registers r and queues the cached GOP to it, atomically with
// respect to Write, so r sees every unit from the GOP's keyframe on, once.
func (s *Stream) addReader(r *Reader) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.isDone() {
		return s.endErr
	}
	s.mu.Lock()
	old := *s.readers.Load()
	next := make([]*Reader, len(old), len(old)+1)
	copy(next, old)
	next = append(next, r)
	s.readers.Store(&next)
	s.mu.Unlock()

	if len(s.gop.units) == 0 {
		r.skip = s.gop.keyTrack >= 0
		if r.skip {
			s.RequestKeyframe()
		}
		return nil
	}
	for _, u := range s.gop.units {
		r.push(u, fanoutInfo{video: s.video[u.Track], key: s.gop.isKey(u), skipping: true})
	}
	return nil
}

func (s *Stream) removeReader(r *Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.readers.Load()
	i := slices.Index(old, r)
	if i < 0 {
		return
	}
	next := make([]*Reader, 0, len(old)-1)
	next = append(next, old[:i]...)
	next = append(next, old[i+1:]...)
	s.readers.Store(&next)
}

// readerCount is how many readers the stream has.
func (s *Stream) readerCount() int { return len(*s.readers.Load()) }

func (s *Stream) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// setOnline records an online/offline change and tells event subscribers.
func (s *Stream) setOnline(on bool) {
	if s.online.CompareAndSwap(!on, on) {
		s.hub.events.emit(Event{Stream: s.id, Online: on, Time: time.Now()})
		if on {
			s.log.Info("stream online", "source", s.kind)
		} else {
			s.log.Info("stream offline", "source", s.kind)
		}
	}
}

// end finishes the stream for good: readers get err after draining.
func (s *Stream) end(err error) {
	s.endOnce.Do(func() {
		s.endErr = err
		close(s.done)
		s.setOnline(false)
	})
}

// info reports the stream's statistics.
func (s *Stream) info(now time.Time) StreamInfo {
	ts := s.Tracks()
	codecs := make([]Codec, len(ts))
	for i, t := range ts {
		codecs[i] = t.Codec
	}
	bitrate, fps := s.rate.rates(now)
	var last time.Time
	if ns := s.lastPacket.Load(); ns != 0 {
		last = time.Unix(0, ns)
	}
	return StreamInfo{
		ID: s.id, Codecs: codecs, Online: s.online.Load(), Readers: s.readerCount(),
		Bitrate: bitrate, FPS: fps, LastPacket: last, Source: s.kind,
		UnitsWritten: s.written.Load(), UnitsDropped: s.dropped.Load(),
	}
}
