package dispatch

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"pingan/internal/store"
)

// publishTimeout bounds one Publish of the newest offset.
const publishTimeout = 5 * time.Second

// offsetPublisher tells watchers (Watch, on every node) the newest event
// offset, off the write path. The events are already durable in the log and
// watchers read it from their own last offset, so only the newest offset
// matters: commits record it and return, and one goroutine at a time
// publishes whatever is newest, merging the offsets that arrive while a
// Publish is on the wire into one. The goroutine starts on demand and
// returns as soon as nothing newer is waiting, so a Service still needs no
// Close.
type offsetPublisher struct {
	st  store.Store
	log *slog.Logger

	mu         sync.Mutex
	newest     uint64        // highest offset committed through this Service
	done       uint64        // highest offset whose Publish has returned
	running    bool          // a goroutine is in run
	chProgress chan struct{} // closed (and replaced) when done advances
}

func newOffsetPublisher(st store.Store, log *slog.Logger) *offsetPublisher {
	return &offsetPublisher{st: st, log: log, chProgress: make(chan struct{})}
}

// notify records a committed offset and makes sure it gets published.
func (p *offsetPublisher) notify(off uint64) {
	p.mu.Lock()
	p.newest = max(p.newest, off)
	start := !p.running && p.newest > p.done
	p.running = p.running || start
	p.mu.Unlock()
	if start {
		go p.run()
	}
}

// run publishes the newest offset until no newer one is waiting.
func (p *offsetPublisher) run() {
	for {
		p.mu.Lock()
		off := p.newest
		if off <= p.done {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		if err := p.st.Publish(ctx, topicEvents, []byte(strconv.FormatUint(off, 10))); err != nil {
			p.log.Warn("publish event offset", "offset", off, "err", err)
		}
		cancel()
		p.mu.Lock()
		p.done = off
		close(p.chProgress)
		p.chProgress = make(chan struct{})
		p.mu.Unlock()
	}
}

// flush waits until the offsets notified so far have been published (or
// ctx ends).
func (p *offsetPublisher) flush(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for target := p.newest; p.done < target; {
		ch := p.chProgress
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			p.mu.Lock()
			return
		}
		p.mu.Lock()
	}
}
