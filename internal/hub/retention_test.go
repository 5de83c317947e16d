package hub

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	boltstore "pingan/internal/store/bolt"
)

// TestEventLogRetention: entries older than the retention leave the event
// log, newer ones (and their offsets) stay, and trimming again is a no-op.
func TestEventLogRetention(t *testing.T) {
	ctx := context.Background()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	// 100 events an hour apart; the last is 1 h old.
	var offsets []uint64
	for i := 0; i < 100; i++ {
		b, _ := json.Marshal(map[string]any{"type": "case.created", "time": now.Add(time.Duration(i-100) * time.Hour)})
		off, err := st.Append(ctx, eventLog, b)
		if err != nil {
			t.Fatal(err)
		}
		offsets = append(offsets, off)
	}
	tr := &logTrimmer{st: st, log: eventLog, keep: 24*time.Hour + time.Minute, now: func() time.Time { return now }, lg: slog.New(slog.DiscardHandler)}
	n, err := tr.trimOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Events 76..99 are at most 24 h old; 0..75 go.
	if n != 76 {
		t.Fatalf("dropped %d entries, want 76", n)
	}
	first, last, err := st.LogBounds(ctx, eventLog)
	if err != nil {
		t.Fatal(err)
	}
	if first != offsets[76] || last != offsets[99] {
		t.Fatalf("bounds %d..%d, want %d..%d", first, last, offsets[76], offsets[99])
	}
	if n, err := tr.trimOnce(ctx); err != nil || n != 0 {
		t.Fatalf("second trim dropped %d (err %v), want 0", n, err)
	}
	// A week later everything is old; the newest entry stays so readers
	// still see where the log stands.
	tr.now = func() time.Time { return now.Add(7 * 24 * time.Hour) }
	if _, err := tr.trimOnce(ctx); err != nil {
		t.Fatal(err)
	}
	first, last, _ = st.LogBounds(ctx, eventLog)
	if first != offsets[99] || last != offsets[99] {
		t.Fatalf("after everything aged: bounds %d..%d, want %d..%d", first, last, offsets[99], offsets[99])
	}
}
