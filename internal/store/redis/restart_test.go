package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"pingan/internal/store"
)

// startRedis runs a private, non-persistent redis-server on port.
func startRedis(t *testing.T, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("redis-server on %d did not start: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stopRedis(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port //nolint:forcetypeassert // a TCP listener
}

// TestRecoversAfterRestart: with Redis killed, calls fail fast with
// ErrUnavailable; once it is back, calls and subscriptions work again
// without reopening the store.
func TestRecoversAfterRestart(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	if testing.Short() {
		t.Skip("starts redis-server")
	}
	port := freePort(t)
	srv := startRedis(t, port)
	defer func() { stopRedis(srv) }()

	const timeout = 500 * time.Millisecond
	s, err := Open(context.Background(), fmt.Sprintf("redis://127.0.0.1:%d/0", port), timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := s.Subscribe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}

	stopRedis(srv)
	start := time.Now()
	if _, err := s.Put(ctx, "k", []byte("v"), store.AnyVersion, 0); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("put with Redis down: %v", err)
	}
	if d := time.Since(start); d > 2*timeout {
		t.Fatalf("put with Redis down took %v", d)
	}

	srv = startRedis(t, port)
	waitFor(t, ctx, "store answers again", func() bool {
		_, err := s.Put(ctx, "k", []byte("v"), store.AnyVersion, 0)
		return err == nil
	})
	waitFor(t, ctx, "subscription delivers again", func() bool {
		if err := s.Publish(ctx, "t", []byte("back")); err != nil {
			return false
		}
		select {
		case msg := <-sub:
			return string(msg) == "back"
		case <-time.After(200 * time.Millisecond):
			return false
		}
	})
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: gave up: %v", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
