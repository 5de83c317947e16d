// Package storetest is the conformance suite every internal/store backend
// passes: call Run from the backend's tests with a function that opens a
// fresh, empty store. It imports only internal/store and the standard
// library.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"pingan/internal/store"
)

// Timeout bounds each conformance test.
const Timeout = 20 * time.Second

// Run runs the suite. open must return a fresh, empty store for the test
// and register its own cleanup with t.Cleanup (closing an already closed
// store must be harmless: the suite closes some stores itself). Tests run
// in parallel, so open must be safe for concurrent use.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, s store.Store)
	}{
		{"GetPut", testGetPut},
		{"PutCopiesValue", testPutCopiesValue},
		{"TTL", testTTL},
		{"Delete", testDelete},
		{"Scan", testScan},
		{"ApplyResults", testApplyResults},
		{"ApplyAtomic", testApplyAtomic},
		{"ApplyConflictInBatch", testApplyConflictInBatch},
		{"IndexRange", testIndexRange},
		{"IndexScoreCount", testIndexScoreCount},
		{"IndexInfinities", testIndexInfinities},
		{"ClaimDue", testClaimDue},
		{"ClaimDueConcurrent", testClaimDueConcurrent},
		{"Log", testLog},
		{"LogConcurrent", testLogConcurrent},
		{"LogTrimAll", testLogTrimAll},
		{"NextConcurrent", testNextConcurrent},
		{"CASConcurrent", testCASConcurrent},
		{"PubSub", testPubSub},
		{"PubSubSlowSubscriber", testPubSubSlow},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), Timeout)
			defer cancel()
			tc.fn(t, ctx, open(t))
		})
	}
}

// must fails the test on err.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// wantConflict fails unless err is a *store.ConflictError with these fields.
func wantConflict(t *testing.T, err error, key string, expected, actual uint64) {
	t.Helper()
	wantErr(t, err, store.ErrConflict, "conflict on "+key)
	var ce *store.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("conflict on %s: %v is not a *store.ConflictError", key, err)
	}
	if ce.Key != key || ce.Expected != expected || ce.Actual != actual {
		t.Fatalf("conflict = {%q %d %d}, want {%q %d %d}", ce.Key, ce.Expected, ce.Actual, key, expected, actual)
	}
}

func put(t *testing.T, ctx context.Context, s store.Store, key, value string, expect uint64) uint64 {
	t.Helper()
	v, err := s.Put(ctx, key, []byte(value), expect, 0)
	must(t, err, "put "+key)
	return v
}

func wantGet(t *testing.T, ctx context.Context, s store.Store, key, value string, version uint64) {
	t.Helper()
	r, err := s.Get(ctx, key)
	must(t, err, "get "+key)
	if string(r.Value) != value || r.Version != version || r.Key != key {
		t.Fatalf("get %s = {%q %q %d}, want {%q %q %d}", key, r.Key, r.Value, r.Version, key, value, version)
	}
}

func wantNotFound(t *testing.T, ctx context.Context, s store.Store, key string) {
	t.Helper()
	_, err := s.Get(ctx, key)
	wantErr(t, err, store.ErrNotFound, "get "+key)
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
