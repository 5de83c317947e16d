package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pingan/internal/store"
)

// recvTimeout bounds each wait for a published message.
const recvTimeout = 5 * time.Second

func recv(t *testing.T, ch <-chan []byte, want string) {
	t.Helper()
	select {
	case msg, ok := <-ch:
		if !ok {
			t.Fatalf("channel closed, want %q", want)
		}
		if string(msg) != want {
			t.Fatalf("got %q, want %q", msg, want)
		}
	case <-time.After(recvTimeout):
		t.Fatalf("no message %q after %v", want, recvTimeout)
	}
}

func wantClosed(t *testing.T, ch <-chan []byte) {
	t.Helper()
	deadline := time.After(recvTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("channel still open %v after its context ended", recvTimeout)
		}
	}
}

func testPubSub(t *testing.T, ctx context.Context, s store.Store) {
	subCtx1, cancel1 := context.WithCancel(ctx)
	defer cancel1()
	subCtx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	ch1, err := s.Subscribe(subCtx1, "case-events")
	must(t, err, "subscribe 1")
	ch2, err := s.Subscribe(subCtx2, "case-events")
	must(t, err, "subscribe 2")
	other, err := s.Subscribe(subCtx1, "other")
	must(t, err, "subscribe other")

	buf := []byte("m1")
	must(t, s.Publish(ctx, "case-events", buf), "publish")
	copy(buf, "XX") // the store must not keep the caller's buffer
	must(t, s.Publish(ctx, "case-events", []byte("m2")), "publish")
	recv(t, ch1, "m1")
	recv(t, ch1, "m2")
	recv(t, ch2, "m1")
	recv(t, ch2, "m2")
	select {
	case msg := <-other:
		t.Fatalf("other topic received %q", msg)
	case <-time.After(50 * time.Millisecond):
	}
	must(t, s.Publish(ctx, "nobody-listens", []byte("x")), "publish without subscribers")

	cancel2()
	wantClosed(t, ch2)
	must(t, s.Publish(ctx, "case-events", []byte("m3")), "publish after one left")
	recv(t, ch1, "m3")
	cancel1()
	wantClosed(t, ch1)
	wantClosed(t, other)
}

// testPubSubSlow: a subscriber that never reads must not block Publish.
func testPubSubSlow(t *testing.T, ctx context.Context, s store.Store) {
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stalled, err := s.Subscribe(subCtx, "t")
	must(t, err, "subscribe stalled")
	live, err := s.Subscribe(subCtx, "t")
	must(t, err, "subscribe live")

	const n = 2000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for msg := range live {
			if string(msg) == fmt.Sprint(n-1) {
				return
			}
		}
	}()
	start := time.Now()
	for i := range n {
		if err := s.Publish(ctx, "t", []byte(fmt.Sprint(i))); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("publishing %d messages with a stalled subscriber took %v", n, d)
	}
	cancel()
	wantClosed(t, stalled)
	<-done
}

func testClose(t *testing.T, ctx context.Context, s store.Store) {
	put(t, ctx, s, "k", "v", 0)
	ch, err := s.Subscribe(ctx, "t")
	must(t, err, "subscribe")
	must(t, s.Ping(ctx), "ping")
	must(t, s.Close(), "close")
	wantClosed(t, ch)

	_, err = s.Get(ctx, "k")
	wantErr(t, err, store.ErrClosed, "get after close")
	_, err = s.Put(ctx, "k", []byte("v"), store.AnyVersion, 0)
	wantErr(t, err, store.ErrClosed, "put after close")
	_, err = s.Apply(ctx, new(store.Batch).Next("s"))
	wantErr(t, err, store.ErrClosed, "apply after close")
	_, err = s.Append(ctx, "l", []byte("v"))
	wantErr(t, err, store.ErrClosed, "append after close")
	_, err = s.Subscribe(ctx, "t")
	wantErr(t, err, store.ErrClosed, "subscribe after close")
	wantErr(t, s.Publish(ctx, "t", []byte("x")), store.ErrClosed, "publish after close")
	wantErr(t, s.Ping(ctx), store.ErrClosed, "ping after close")
	wantErr(t, s.Close(), store.ErrClosed, "second close")
}
