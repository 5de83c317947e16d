package media

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for zero Config fields.
const (
	DefaultIdleTimeout  = 10 * time.Second
	DefaultReadyTimeout = 10 * time.Second
)

// Source restart backoff: doubles from backoffMin to backoffMax; a source
// that ran at least backoffReset starts over from backoffMin.
const (
	backoffMin   = time.Second
	backoffMax   = 30 * time.Second
	backoffReset = 10 * time.Second
	maxAliasHops = 8
)

// Config configures a Hub. Zero fields take the defaults named.
type Config struct {
	// IdleTimeout stops an on-demand source this long after its last reader
	// left (default 10s).
	IdleTimeout time.Duration
	// ReaderQueue is the default per-reader queue length in units, rounded
	// up to a power of two (default 512).
	ReaderQueue int
	// ReadyTimeout is how long Subscribe waits for a starting source to
	// describe its tracks (default 10s).
	ReadyTimeout time.Duration
	// Logger receives lifecycle logs (default slog.Default()).
	Logger *slog.Logger
}

// StreamInfo describes a stream for listings and metrics.
type StreamInfo struct {
	ID         StreamID
	Codecs     []Codec
	Online     bool
	Readers    int
	Bitrate    int64   // bits per second over the last ~2 s
	FPS        float64 // frames per second of the first video track
	LastPacket time.Time
	Source     string // SourcePush or SourceOnDemand
	// UnitsWritten and UnitsDropped count units written by the publisher
	// and reader-queue overflows.
	UnitsWritten, UnitsDropped uint64
}

// Hub is the registry of streams: push publishers, on-demand sources
// started on the first reader and stopped after an idle timeout, and
// aliases. One owner goroutine (Run) orders every registry change.
type Hub struct {
	cfg Config
	log *slog.Logger

	backoffMin, backoffMax, backoffReset time.Duration

	regMu     sync.RWMutex
	factories map[string]SourceFactory
	aliases   map[StreamID]StreamID

	mu      sync.RWMutex
	streams map[StreamID]*Stream // written by the owner goroutine only

	ctx     context.Context
	cancel  context.CancelFunc
	running atomic.Bool
	runDone chan struct{}
	wg      sync.WaitGroup // sources and keyframe loops
	events  eventBus

	chPublish    chan publishReq
	chUnpublish  chan *Stream
	chSubscribe  chan subscribeReq
	chRelease    chan *Stream
	chSourceExit chan sourceExit
	chTimer      chan timerFired

	onDemand map[*Stream]*onDemand // owner goroutine only
}

type publishReq struct {
	id  StreamID
	res chan publishRes
}

type publishRes struct {
	s   *Stream
	err error
}

type subscribeReq struct {
	id  StreamID
	res chan subscribeRes
}

type subscribeRes struct {
	s        *Stream
	onDemand bool // the caller holds a reference to release
	err      error
}

// NewHub validates cfg and allocates a hub; Run starts it.
func NewHub(cfg Config) *Hub {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.ReaderQueue <= 0 {
		cfg.ReaderQueue = DefaultReaderQueue
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		cfg: cfg, log: cfg.Logger,
		backoffMin: backoffMin, backoffMax: backoffMax, backoffReset: backoffReset,
		factories: make(map[string]SourceFactory),
		aliases:   make(map[StreamID]StreamID),
		streams:   make(map[StreamID]*Stream),
		ctx:       ctx, cancel: cancel,
		runDone:      make(chan struct{}),
		chPublish:    make(chan publishReq),
		chUnpublish:  make(chan *Stream),
		chSubscribe:  make(chan subscribeReq),
		chRelease:    make(chan *Stream),
		chSourceExit: make(chan sourceExit),
		chTimer:      make(chan timerFired),
		onDemand:     make(map[*Stream]*onDemand),
	}
}

// Run serves registry requests until ctx ends or Close is called, then
// stops every source, ends every stream and returns once all of the hub's
// goroutines have exited. Calls that need the registry (Publish, Subscribe)
// wait until Run is running.
func (h *Hub) Run(ctx context.Context) error {
	if !h.running.CompareAndSwap(false, true) {
		return errors.New("media: hub already running")
	}
	defer close(h.runDone)
	stop := context.AfterFunc(ctx, h.cancel)
	defer stop()
	h.loop()
	h.wg.Wait()
	h.events.close()
	return nil
}

// Close stops the hub and, if Run is running, waits for it to return.
func (h *Hub) Close() {
	h.cancel()
	if h.running.Load() {
		<-h.runDone
	}
}

func (h *Hub) loop() {
	for {
		select {
		case req := <-h.chPublish:
			req.res <- h.doPublish(req.id)
		case s := <-h.chUnpublish:
			h.removeStream(s, io.EOF)
		case req := <-h.chSubscribe:
			req.res <- h.doSubscribe(req.id)
		case s := <-h.chRelease:
			h.doRelease(s)
		case ev := <-h.chSourceExit:
			h.doSourceExit(ev)
		case ev := <-h.chTimer:
			h.doTimer(ev)
		case <-h.ctx.Done():
			h.doShutdown()
			return
		}
	}
}

// RegisterSource makes f the factory for stream ids starting with prefix
// (the longest matching prefix wins). f runs on the hub's owner goroutine
// and must not block.
func (h *Hub) RegisterSource(prefix string, f SourceFactory) {
	h.regMu.Lock()
	defer h.regMu.Unlock()
	h.factories[prefix] = f
}

// Alias makes name resolve to target for Subscribe and Info; an empty
// target removes the alias.
func (h *Hub) Alias(name, target StreamID) {
	h.regMu.Lock()
	defer h.regMu.Unlock()
	if target == "" {
		delete(h.aliases, name)
		return
	}
	h.aliases[name] = target
}

// resolve follows aliases (a few hops at most, so a loop cannot hang).
func (h *Hub) resolve(id StreamID) StreamID {
	h.regMu.RLock()
	defer h.regMu.RUnlock()
	for range maxAliasHops {
		t, ok := h.aliases[id]
		if !ok {
			break
		}
		id = t
	}
	return id
}

func (h *Hub) factoryFor(id StreamID) SourceFactory {
	h.regMu.RLock()
	defer h.regMu.RUnlock()
	var best string
	var f SourceFactory
	for p, pf := range h.factories {
		if strings.HasPrefix(string(id), p) && (f == nil || len(p) > len(best)) {
			best, f = p, pf
		}
	}
	return f
}

// Publish makes the caller id's push publisher. It fails with
// ErrPublisherSet while another publisher or source is active.
func (h *Hub) Publish(id StreamID) (*Stream, error) {
	req := publishReq{id: id, res: make(chan publishRes, 1)}
	select {
	case h.chPublish <- req:
	case <-h.ctx.Done():
		return nil, ErrClosed
	}
	res := <-req.res
	return res.s, res.err
}

func (h *Hub) doPublish(id StreamID) publishRes {
	if _, ok := h.streams[id]; ok {
		return publishRes{err: fmt.Errorf("publish %s: %w", id, ErrPublisherSet)}
	}
	s := h.addStream(id, SourcePush)
	s.log.Info("stream published")
	return publishRes{s: s}
}

// addStream registers a new stream and starts its keyframe loop.
func (h *Hub) addStream(id StreamID, kind string) *Stream {
	s := newStream(h, id, kind)
	h.mu.Lock()
	h.streams[id] = s
	h.mu.Unlock()
	h.wg.Go(func() { s.runKeyframes(h.ctx) })
	return s
}

// removeStream unregisters s and ends it with err.
func (h *Hub) removeStream(s *Stream, err error) {
	h.mu.Lock()
	if h.streams[s.id] == s {
		delete(h.streams, s.id)
	}
	h.mu.Unlock()
	if od := h.onDemand[s]; od != nil {
		od.stopTimers()
		delete(h.onDemand, s)
	}
	s.end(err)
}

// unpublish removes a closed push stream.
func (h *Hub) unpublish(s *Stream) {
	select {
	case h.chUnpublish <- s:
	case <-h.ctx.Done():
		s.end(ErrClosed)
	}
}

func (h *Hub) doShutdown() {
	h.mu.RLock()
	all := make([]*Stream, 0, len(h.streams))
	for _, s := range h.streams {
		all = append(all, s)
	}
	h.mu.RUnlock()
	for _, s := range all {
		h.removeStream(s, ErrClosed)
	}
}

// Subscribe returns a reader of id (after aliases). An on-demand stream is
// started, and Subscribe waits up to Config.ReadyTimeout (or ctx) for its
// tracks: ErrNotReady when they do not come. ErrNotFound means no publisher
// and no factory for id. The reader starts with the cached GOP.
func (h *Hub) Subscribe(ctx context.Context, id StreamID, opts ReaderOptions) (*Reader, error) {
	id = h.resolve(id)
	req := subscribeReq{id: id, res: make(chan subscribeRes, 1)}
	select {
	case h.chSubscribe <- req:
	case <-ctx.Done():
		return nil, fmt.Errorf("subscribe %s: %w", id, ctx.Err())
	case <-h.ctx.Done():
		return nil, ErrClosed
	}
	res := <-req.res
	if res.err != nil {
		return nil, res.err
	}
	s := res.s
	release := func() {}
	if res.onDemand {
		release = func() { h.release(s) }
	}
	if err := h.waitReady(ctx, s); err != nil {
		release()
		return nil, err
	}
	q := opts.Queue
	if q <= 0 {
		q = h.cfg.ReaderQueue
	}
	r := newReader(s, q, opts.VideoOnly)
	r.release = release
	if err := s.addReader(r); err != nil {
		release()
		return nil, endedErr(id, err)
	}
	return r, nil
}

// waitReady waits until s has tracks.
func (h *Hub) waitReady(ctx context.Context, s *Stream) error {
	select {
	case <-s.ready:
		return nil
	default:
	}
	t := time.NewTimer(h.cfg.ReadyTimeout)
	defer t.Stop()
	select {
	case <-s.ready:
		return nil
	case <-s.done:
		return endedErr(s.id, s.endErr)
	case <-ctx.Done():
		return fmt.Errorf("subscribe %s: %w", s.id, ctx.Err())
	case <-t.C:
		return fmt.Errorf("subscribe %s: %w", s.id, ErrNotReady)
	}
}

// endedErr is the Subscribe error for a stream that ended meanwhile.
func endedErr(id StreamID, err error) error {
	if errors.Is(err, io.EOF) {
		err = ErrNotFound
	}
	return fmt.Errorf("subscribe %s: %w", id, err)
}

// release drops a reader's reference to an on-demand stream.
func (h *Hub) release(s *Stream) {
	select {
	case h.chRelease <- s:
	case <-h.ctx.Done():
	}
}

// Streams lists the streams that exist now, sorted by id.
func (h *Hub) Streams() []StreamInfo {
	now := time.Now()
	h.mu.RLock()
	out := make([]StreamInfo, 0, len(h.streams))
	for _, s := range h.streams {
		out = append(out, s.info(now))
	}
	h.mu.RUnlock()
	slices.SortFunc(out, func(a, b StreamInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Info describes stream id (after aliases) if it exists now.
func (h *Hub) Info(id StreamID) (StreamInfo, bool) {
	id = h.resolve(id)
	h.mu.RLock()
	s, ok := h.streams[id]
	h.mu.RUnlock()
	if !ok {
		return StreamInfo{}, false
	}
	return s.info(time.Now()), true
}

// Events delivers online/offline changes until ctx ends or the hub stops;
// then the channel is closed. A subscriber that falls behind misses events.
func (h *Hub) Events(ctx context.Context) <-chan Event {
	return h.events.subscribe(ctx)
}
