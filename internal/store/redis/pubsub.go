package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"pingan/internal/store"
)

// Publish sends msg to every subscriber of topic on every node (best
// effort: a subscriber that is reconnecting misses it).
func (s *Store) Publish(ctx context.Context, topic string, msg []byte) error {
	cctx, cancel, err := s.call(ctx, "publish")
	if err != nil {
		return err
	}
	defer cancel()
	return s.fail(ctx, "publish", s.rdb.Publish(cctx, s.channel(topic), msg).Err())
}

// Subscribe delivers messages published to topic until ctx ends or the
// store closes; the channel is then closed. It returns once Redis has
// confirmed the subscription. After a lost connection go-redis reconnects
// and subscribes again by itself. A full channel drops messages.
func (s *Store) Subscribe(ctx context.Context, topic string) (<-chan []byte, error) {
	cctx, cancel, err := s.call(ctx, "subscribe")
	if err != nil {
		return nil, err
	}
	defer cancel()
	ps := s.rdb.Subscribe(cctx, s.channel(topic))
	if _, err := ps.Receive(cctx); err != nil { // the subscription confirmation
		_ = ps.Close()
		return nil, s.fail(ctx, "subscribe", err)
	}
	msgs := ps.Channel(
		goredis.WithChannelSize(subscriberQueue),
		goredis.WithChannelHealthCheckInterval(pubsubHealth),
		goredis.WithChannelPingTimeout(s.timeout),
		goredis.WithChannelReconnectTimeout(s.timeout),
	)
	out := make(chan []byte, subscriberQueue)
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		_ = ps.Close()
		return nil, fmt.Errorf("redis subscribe: %w", store.ErrClosed)
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go s.forward(ctx, ps, msgs, out)
	return out, nil
}

// forward copies messages to out without blocking until ctx ends or the
// store closes, then closes the subscription and waits for go-redis's
// reader to stop.
func (s *Store) forward(ctx context.Context, ps *goredis.PubSub, msgs <-chan *goredis.Message, out chan<- []byte) {
	defer s.wg.Done()
	defer close(out)
	for {
		select {
		case <-ctx.Done():
		case <-s.done:
		case m, ok := <-msgs:
			if !ok {
				return
			}
			select {
			case out <- []byte(m.Payload):
			default:
				s.dropped.Add(1)
			}
			continue
		}
		_ = ps.Close()
		for range msgs { // closed once go-redis's reader has exited
		}
		return
	}
}
