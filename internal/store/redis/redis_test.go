package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"pingan/internal/store"
	"pingan/internal/store/storetest"
)

const testTimeout = 2 * time.Second

// TestMain checks that Close ends every goroutine (subscriptions included).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testURL returns the Redis to test against. Without PINGAN_TEST_REDIS the
// tests skip, except under CI=true, where a missing Redis is a failure.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("PINGAN_TEST_REDIS")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but PINGAN_TEST_REDIS is not set")
		}
		t.Skip("PINGAN_TEST_REDIS not set (e.g. redis://127.0.0.1:6379/0)")
	}
	return url
}

var nsCounter atomic.Int64

// uniqueNamespace gives each test its own key space on the shared Redis.
func uniqueNamespace() string {
	return fmt.Sprintf("test-%d-%d-%d", os.Getpid(), time.Now().UnixNano(), nsCounter.Add(1))
}

// openNS opens a store in a fresh namespace and drops the namespace when
// the test ends (through its own client: the test may close the store).
func openNS(t testing.TB, url string) *Store {
	t.Helper()
	ns := uniqueNamespace()
	s, err := New(Options{URL: url, Timeout: testTimeout, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		dropper, err := New(Options{URL: url, Timeout: testTimeout, Namespace: ns})
		if err != nil {
			t.Error(err)
			return
		}
		defer dropper.Close()
		if err := dropper.DropNamespace(context.Background()); err != nil {
			t.Errorf("drop namespace %s: %v", ns, err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	url := testURL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openNS(t, url) })
}

// TestNoScript: after SCRIPT FLUSH every script still runs (EVALSHA falls
// back to EVAL on NOSCRIPT).
func TestNoScript(t *testing.T) {
	s := openNS(t, testURL(t))
	ctx := context.Background()
	if _, err := s.Apply(ctx, new(store.Batch).Put("k", []byte("v"), 0).IndexAdd("ix", "m", 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := s.Apply(ctx, new(store.Batch).Put("k", []byte("v2"), 1).Append("l", []byte("e")))
	if err != nil {
		t.Fatalf("apply after SCRIPT FLUSH: %v", err)
	}
	if res.Versions[0] != 2 || res.Offsets[0] != 1 {
		t.Fatalf("result = %+v", res)
	}
	if err := s.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if recs, err := s.Scan(ctx, "", "", 0); err != nil || len(recs) != 1 {
		t.Fatalf("scan after SCRIPT FLUSH: %v, %v", recs, err)
	}
	if got, err := s.ClaimDue(ctx, "ix", 10, 0); err != nil || len(got) != 1 {
		t.Fatalf("claim after SCRIPT FLUSH: %v, %v", got, err)
	}
}

// TestNamespace: every key is under pingan:<ns>:, and dropping one
// namespace leaves another alone.
func TestNamespace(t *testing.T) {
	url := testURL(t)
	a, b := openNS(t, url), openNS(t, url)
	ctx := context.Background()
	for _, s := range []*Store{a, b} {
		b := new(store.Batch).Put("k", []byte("v"), 0).IndexAdd("ix", "m", 1).Append("l", []byte("e")).Next("s")
		if _, err := s.Apply(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := a.rdb.Keys(ctx, a.base+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 6 {
		t.Fatalf("namespace keys = %v, want 6", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "pingan:test-") {
			t.Errorf("key %q outside pingan:<ns>:", k)
		}
	}
	if err := a.DropNamespace(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after drop: %v", err)
	}
	if _, err := b.Get(ctx, "k"); err != nil {
		t.Fatalf("other namespace hurt by drop: %v", err)
	}
	prod, err := New(Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if err := prod.DropNamespace(ctx); err == nil {
		t.Fatal("DropNamespace without a namespace must refuse")
	}
	if _, err := New(Options{URL: url, Namespace: "a*b"}); err == nil {
		t.Fatal("namespace with a glob character accepted")
	}
}

// silentListener accepts connections and never answers: a hung Redis.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
			close(done)
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// TestUnavailable: against a refused port and a server that never answers,
// every call fails with store.ErrUnavailable in under twice the timeout.
func TestUnavailable(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for name, addr := range map[string]string{"refused": "127.0.0.1:1", "silent": silentListener(t)} {
		t.Run(name, func(t *testing.T) {
			s, err := New(Options{URL: "redis://" + addr + "/0", Timeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			calls := map[string]func() error{
				"get":   func() error { _, err := s.Get(ctx, "k"); return err },
				"put":   func() error { _, err := s.Put(ctx, "k", nil, 0, 0); return err },
				"apply": func() error { _, err := s.Apply(ctx, new(store.Batch).Next("s")); return err },
				"scan":  func() error { _, err := s.Scan(ctx, "", "", 0); return err },
				"claim": func() error { _, err := s.ClaimDue(ctx, "ix", 1, 1); return err },
				"read":  func() error { _, err := s.ReadLog(ctx, "l", 1, 1); return err },
				"pub":   func() error { return s.Publish(ctx, "t", nil) },
				"sub":   func() error { _, err := s.Subscribe(ctx, "t"); return err },
				"ping":  func() error { return s.Ping(ctx) },
			}
			for op, call := range calls {
				start := time.Now()
				err := call()
				d := time.Since(start)
				if !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("%s: %v, want ErrUnavailable", op, err)
				}
				if d > 2*timeout {
					t.Errorf("%s took %v, want < %v", op, d, 2*timeout)
				}
			}
			start := time.Now()
			_, err = Open(ctx, "redis://"+addr+"/0", timeout)
			if !errors.Is(err, store.ErrUnavailable) || time.Since(start) > 2*timeout {
				t.Errorf("Open: %v after %v", err, time.Since(start))
			}
		})
	}
}

// TestCallerContext: a caller's cancelled ctx is reported as such, not as
// an unavailable backend.
func TestCallerContext(t *testing.T) {
	s := openNS(t, testURL(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Get(ctx, "k")
	if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("get with cancelled ctx: %v", err)
	}
}

func BenchmarkApply(b *testing.B) {
	storetest.BenchmarkApply(b, openNS(b, testURL(b)))
}

func BenchmarkApplyParallel(b *testing.B) {
	b.SetParallelism(8)
	storetest.BenchmarkApplyParallel(b, openNS(b, testURL(b)))
}

// TestPubSubPerDatabase: Redis pub/sub ignores the database number; two
// hubs sharing one Redis on different DBs (same namespace) must still not
// receive each other's event offsets.
func TestPubSubPerDatabase(t *testing.T) {
	url := testURL(t)
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	other := *opt
	other.DB = (opt.DB + 1) % 16
	urlOther := fmt.Sprintf("redis://%s/%d", opt.Addr, other.DB)
	if opt.Password != "" || opt.Username != "" {
		t.Skip("test builds a second URL without credentials")
	}
	ns := uniqueNamespace()
	a, err := New(Options{URL: url, Timeout: testTimeout, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New(Options{URL: urlOther, Timeout: testTimeout, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fromA, err := a.Subscribe(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	fromB, err := b.Subscribe(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "events", []byte("42")); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-fromB:
		if string(msg) != "42" {
			t.Fatalf("DB %d subscriber got %q", other.DB, msg)
		}
	case <-ctx.Done():
		t.Fatal("a subscriber on the publishing DB got nothing")
	}
	select {
	case msg := <-fromA:
		t.Fatalf("DB %d subscriber received %q published on DB %d", opt.DB, msg, other.DB)
	case <-time.After(300 * time.Millisecond):
	}
}
