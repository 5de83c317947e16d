// Package testutil holds helpers shared by tests: free loopback ports,
// finding the test Redis, and waiting for HTTP endpoints.
package testutil

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreeUDPTCPPort returns a port free for both UDP and TCP on 127.0.0.1.
func FreeUDPTCPPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		p := FreePort(t)
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", itoa(p)))
		if err == nil {
			u.Close()
			return p
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return 0
}

func itoa(n int) string {
	return (&net.TCPAddr{Port: n}).String()[1:]
}

// InCI reports whether the tests run in CI, where missing servers and tools
// are failures rather than skips.
func InCI() bool { return os.Getenv("CI") == "true" }

// RedisURL returns the test Redis URL from PINGAN_TEST_REDIS. Without it the
// test is skipped — except in CI, where it fails.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PINGAN_TEST_REDIS")
	if u == "" {
		if InCI() {
			t.Fatal("PINGAN_TEST_REDIS is not set; .ci/run must start redis-server")
		}
		t.Skip("PINGAN_TEST_REDIS not set")
	}
	return u
}

// NeedTool returns the path of an external program, skipping the test when
// it is missing — except in CI, where it fails.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if InCI() {
			t.Fatalf("%s is not installed; .ci/run must install it", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// WaitHTTP polls url until it answers 200 or the timeout passes.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not answer 200 within %s (last error %v)", url, timeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
