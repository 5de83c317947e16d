package gb28181

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunLeavesNoGoroutines checks that Run returns only after everything
// it started — ours and gosip's — has stopped.
func TestRunLeavesNoGoroutines(t *testing.T) {
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	t.Run("serve", func(t *testing.T) {
		ts := startServer(t, nil)
		ua := newUA(t, ts.addr, "34020000001320000009")
		if res := ua.register(3600); res.status != 200 {
			t.Fatal(res.status)
		}
		tcp := newUAOn(t, "tcp", ts.addr, "34020000001320000010")
		if res := tcp.register(3600); res.status != 200 {
			t.Fatal(res.status)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, _ = ts.Catalog(ctx, "34020000001320000009")
	})
	goleak.VerifyNone(t, opts...)
}
