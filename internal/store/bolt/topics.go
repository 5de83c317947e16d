package bolt

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"pingan/internal/store"
)

// subscriberQueue is the buffer of each subscription; a full queue drops.
const subscriberQueue = 64

// subscriber is one Subscribe call. mu orders sends against close, so a
// publisher never sends on a closed channel; sends never block.
type subscriber struct {
	mu     sync.Mutex
	ch     chan []byte
	closed bool
}

// send reports false when the message was dropped.
func (s *subscriber) send(msg []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return true
	}
	select {
	case s.ch <- msg:
		return true
	default:
		return false
	}
}

func (s *subscriber) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}

// topics is the in-process pub/sub: copy-on-write subscriber slices, read
// under the lock and sent to after releasing it.
type topics struct {
	mu     sync.Mutex
	subs   map[string][]*subscriber
	closed bool
	wg     sync.WaitGroup
	done   chan struct{}

	dropped atomic.Uint64 // messages lost to full subscriber queues
}

func newTopics() *topics {
	return &topics{subs: make(map[string][]*subscriber), done: make(chan struct{})}
}

func (t *topics) publish(topic string, msg []byte) {
	t.mu.Lock()
	subs := t.subs[topic]
	t.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	msg = bytes.Clone(msg) // shared read-only by every subscriber
	for _, s := range subs {
		if !s.send(msg) {
			t.dropped.Add(1)
		}
	}
}

func (t *topics) subscribe(ctx context.Context, topic string) (<-chan []byte, error) {
	sub := &subscriber{ch: make(chan []byte, subscriberQueue)}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, store.ErrClosed
	}
	t.subs[topic] = append(slices.Clone(t.subs[topic]), sub)
	t.wg.Add(1)
	t.mu.Unlock()
	go func() {
		defer t.wg.Done()
		select {
		case <-ctx.Done():
		case <-t.done:
		}
		t.remove(topic, sub)
		sub.close()
	}()
	return sub.ch, nil
}

func (t *topics) remove(topic string, sub *subscriber) {
	t.mu.Lock()
	defer t.mu.Unlock()
	subs := slices.DeleteFunc(slices.Clone(t.subs[topic]), func(s *subscriber) bool { return s == sub })
	if len(subs) == 0 {
		delete(t.subs, topic)
	} else {
		t.subs[topic] = subs
	}
}

// closeAll ends every subscription and waits for their goroutines.
func (t *topics) closeAll() {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		close(t.done)
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// Publish delivers msg to this process's current subscribers of topic;
// a subscriber whose queue is full loses it.
func (s *Store) Publish(ctx context.Context, topic string, msg []byte) error {
	if err := s.enter(ctx, "publish"); err != nil {
		return err
	}
	s.topics.publish(topic, msg)
	return nil
}

// Subscribe delivers messages published to topic until ctx ends or the
// store closes; the channel is then closed.
func (s *Store) Subscribe(ctx context.Context, topic string) (<-chan []byte, error) {
	if err := s.enter(ctx, "subscribe"); err != nil {
		return nil, err
	}
	ch, err := s.topics.subscribe(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("bolt subscribe: %w", err)
	}
	return ch, nil
}

// Dropped reports how many messages slow subscribers have lost so far.
func (s *Store) Dropped() uint64 { return s.topics.dropped.Load() }
