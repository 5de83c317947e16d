package e2e

import (
	"fmt"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"pingan/configs"
	"pingan/internal/testutil"
)

// startRedis runs a private redis-server with AOF on port; stop kills it.
func startRedis(t *testing.T, port int, dir string) (stop func()) {
	t.Helper()
	bin := testutil.NeedTool(t, "redis-server")
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	waitTCP(t, fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestRedisOutageIsReportedAndRecovered: with Redis gone, calls fail fast
// and /readyz says so; when Redis returns the hub recovers by itself.
func TestRedisOutageIsReportedAndRecovered(t *testing.T) {
	port := testutil.FreePort(t)
	dir := t.TempDir()
	stop := startRedis(t, port, dir)
	h := startHub(t, false, func(c *configs.Config) {
		c.Store.Redis.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
		c.Store.Redis.Timeout = configs.Duration(500 * time.Millisecond)
	})
	if code := h.call("GET", "/readyz", "", nil, nil); code != http.StatusOK {
		t.Fatalf("readyz with Redis up: %d", code)
	}
	stop()

	start := time.Now()
	if code := h.call("GET", "/readyz", "", nil, nil); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with Redis down: %d, want 503", code)
	}
	code := h.call("GET", "/api/v1/users", h.admin, nil, nil)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("API call with Redis down: %d, want 503", code)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("calls with Redis down took %s; they must fail fast", took)
	}

	startRedis(t, port, dir)
	deadline := time.Now().Add(15 * time.Second)
	for h.call("GET", "/readyz", "", nil, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("hub did not recover within 15 s of Redis returning")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code := h.call("GET", "/api/v1/users", h.admin, nil, nil); code != http.StatusOK {
		t.Fatalf("API after recovery: %d", code)
	}
}
