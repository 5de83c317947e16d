package media

import (
	"context"
	"sync"
	"time"
)

// eventQueue is each event subscriber's channel capacity; a subscriber that
// falls this far behind misses events.
const eventQueue = 64

// Event tells that a stream went online (it has a publisher or a running
// source with tracks) or offline.
type Event struct {
	Stream StreamID
	Online bool
	Time   time.Time
}

// eventBus delivers events to subscribers without ever blocking.
type eventBus struct {
	mu     sync.Mutex
	subs   map[chan Event]struct{}
	closed bool
}

func (b *eventBus) subscribe(ctx context.Context) <-chan Event {
	ch := make(chan Event, eventQueue)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(ch)
		return ch
	}
	if b.subs == nil {
		b.subs = make(map[chan Event]struct{})
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	context.AfterFunc(ctx, func() { b.unsubscribe(ch) })
	return ch
}

func (b *eventBus) unsubscribe(ch chan Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[ch]; ok {
		delete(b.subs, ch)
		close(ch)
	}
}

// emit sends ev to every subscriber that has room.
func (b *eventBus) emit(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

// close ends every subscription; later subscriptions get a closed channel.
func (b *eventBus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}
