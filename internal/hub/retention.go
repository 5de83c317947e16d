package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"pingan/internal/store"
)

// eventLog is the global event log dispatch appends to (dispatch's logEvents).
const eventLog = "events"

// retentionEvery is how often the event log is trimmed.
const retentionEvery = time.Hour

// logTrimmer drops event-log entries older than keep. Consoles resume from
// the log after a reconnect; one that was away longer than keep gets
// "recovered": false and reloads its lists, which is what it does anyway
// after a long absence. Case timelines keep their own history.
type logTrimmer struct {
	st   store.Store
	log  string
	keep time.Duration
	now  func() time.Time
	lg   *slog.Logger
}

// run trims once at start and then every retentionEvery until ctx ends.
func (t *logTrimmer) run(ctx context.Context) error {
	tick := time.NewTicker(retentionEvery)
	defer tick.Stop()
	for {
		if n, err := t.trimOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			t.lg.Warn("event log trim failed; will retry", "err", err)
		} else if n > 0 {
			t.lg.Info("event log trimmed", "dropped", n, "older_than", t.keep)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// trimOnce drops every entry whose time is before now-keep and returns how
// many offsets it dropped. Entries are in time order, so the first entry to
// keep is found by binary search, one single-entry read per probe.
func (t *logTrimmer) trimOnce(ctx context.Context) (uint64, error) {
	first, last, err := t.st.LogBounds(ctx, t.log)
	if err != nil || last == 0 {
		return 0, err
	}
	cutoff := t.now().Add(-t.keep)
	// Find the smallest offset in [first, last+1) whose entry is not older
	// than cutoff; last+1 means every entry is older.
	lo, hi := first, last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		when, off, err := t.entryTime(ctx, mid)
		if err != nil {
			return 0, err
		}
		if off == 0 { // nothing at or after mid (trimmed concurrently)
			hi = mid
			continue
		}
		if when.Before(cutoff) {
			lo = off + 1
		} else {
			hi = mid
		}
	}
	if lo <= first {
		return 0, nil
	}
	if lo > last { // keep the newest entry so the log's offsets stay visible
		lo = last
	}
	if lo <= first {
		return 0, nil
	}
	if err := t.st.TrimLog(ctx, t.log, lo); err != nil {
		return 0, err
	}
	return lo - first, nil
}

// entryTime reads the first entry at or after off and returns its time and
// offset (0 when there is none). An entry without a readable time counts
// as old.
func (t *logTrimmer) entryTime(ctx context.Context, off uint64) (time.Time, uint64, error) {
	es, err := t.st.ReadLog(ctx, t.log, off, 1)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("read event log at %d: %w", off, err)
	}
	if len(es) == 0 {
		return time.Time{}, 0, nil
	}
	var e struct {
		Time time.Time `json:"time"`
	}
	_ = json.Unmarshal(es[0].Value, &e)
	return e.Time, es[0].Offset, nil
}
