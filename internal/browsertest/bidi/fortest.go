package bidi

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"pingan/internal/testutil"
)

// FindFirefox returns the path of firefox-esr (or firefox). Without either
// the test is skipped — except in CI (CI=true), where it fails.
func FindFirefox(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"firefox-esr", "firefox"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return testutil.NeedTool(t, "firefox-esr")
}

// ForTest launches Firefox for a test and closes it when the test ends. A
// browser that is installed but does not start fails the test.
func ForTest(t testing.TB, o Options) *Browser {
	t.Helper()
	if o.Path == "" {
		o.Path = FindFirefox(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	b, err := Launch(ctx, o)
	if err != nil {
		t.Fatalf("start firefox: %v", err)
	}
	t.Logf("%s up in %s", b.Version(), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return b
}
