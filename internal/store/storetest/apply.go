package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"pingan/internal/store"
)

func testApplyResults(t *testing.T, ctx context.Context, s store.Store) {
	put(t, ctx, s, "old", "x", 0)
	b := new(store.Batch).
		Put("case/1", []byte("registered"), 0).
		Check("case/1", 1).
		Put("case/1", []byte("accepted"), 1).
		Check("old", 1).
		Delete("old", 1).
		Put("old", []byte("reborn"), 0).
		IndexAdd("by-deadline", "case/1", 100).
		IndexAdd("by-deadline", "case/2", 50).
		IndexRemove("by-deadline", "case/2").
		IndexRemove("by-deadline", "never-there").
		Append("events", []byte("e1")).
		Append("events", []byte("e2")).
		Next("case-code").
		Next("case-code")
	res, err := s.Apply(ctx, b)
	must(t, err, "apply")
	if got := fmt.Sprint(res.Versions, res.Offsets, res.Seqs); got != "[1 2 1] [1 2] [1 2]" {
		t.Fatalf("result = %s, want [1 2 1] [1 2] [1 2]", got)
	}
	wantGet(t, ctx, s, "case/1", "accepted", 2)
	wantGet(t, ctx, s, "old", "reborn", 1)
	entries, err := s.IndexRange(ctx, "by-deadline", store.Range{Min: math.Inf(-1), Max: math.Inf(1)})
	must(t, err, "index range")
	if got := fmt.Sprint(entries); got != "[{case/1 100}]" {
		t.Fatalf("index = %s", got)
	}
	first, last, err := s.LogBounds(ctx, "events")
	must(t, err, "log bounds")
	if first != 1 || last != 2 {
		t.Fatalf("log bounds = %d..%d, want 1..2", first, last)
	}
	if v, err := s.Next(ctx, "case-code"); err != nil || v != 3 {
		t.Fatalf("next after batch = %d, %v; want 3", v, err)
	}
	// An empty batch is fine.
	if _, err := s.Apply(ctx, new(store.Batch)); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

// testApplyAtomic fails a check in the middle of a batch and checks that
// nothing before or after it was written.
func testApplyAtomic(t *testing.T, ctx context.Context, s store.Store) {
	put(t, ctx, s, "case/1", "registered", 0)
	_, err := s.Apply(ctx, new(store.Batch).IndexAdd("open", "case/0", 1).Append("events", []byte("e0")))
	must(t, err, "seed")

	b := new(store.Batch).
		Put("case/new", []byte("n"), 0).
		Put("case/1", []byte("accepted"), 1).
		IndexAdd("open", "case/new", 5).
		IndexRemove("open", "case/0").
		Append("events", []byte("e1")).
		Next("seq").
		Delete("case/1", 2).
		Check("case/1", 7). // fails: the version is 2 by now
		Put("case/after", []byte("a"), 0).
		Append("events", []byte("e2"))
	res, err := s.Apply(ctx, b)
	wantConflict(t, err, "case/1", 7, 0) // deleted earlier in the batch
	if len(res.Versions)+len(res.Offsets)+len(res.Seqs) != 0 {
		t.Fatalf("failed batch returned results %+v", res)
	}

	wantNotFound(t, ctx, s, "case/new")
	wantNotFound(t, ctx, s, "case/after")
	wantGet(t, ctx, s, "case/1", "registered", 1)
	entries, err := s.IndexRange(ctx, "open", store.Range{Min: math.Inf(-1), Max: math.Inf(1)})
	must(t, err, "index range")
	if got := fmt.Sprint(entries); got != "[{case/0 1}]" {
		t.Fatalf("index after failed batch = %s", got)
	}
	first, last, err := s.LogBounds(ctx, "events")
	must(t, err, "log bounds")
	if first != 1 || last != 1 {
		t.Fatalf("log after failed batch = %d..%d, want 1..1", first, last)
	}
	if v, err := s.Next(ctx, "seq"); err != nil || v != 1 {
		t.Fatalf("sequence after failed batch: Next = %d, %v; want 1", v, err)
	}
	off, err := s.Append(ctx, "events", []byte("e1"))
	must(t, err, "append")
	if off != 2 {
		t.Fatalf("offset after failed batch = %d, want 2 (no gap)", off)
	}
}

// testApplyConflictInBatch: a later op sees the versions earlier ops wrote.
func testApplyConflictInBatch(t *testing.T, ctx context.Context, s store.Store) {
	_, err := s.Apply(ctx, new(store.Batch).Put("k", []byte("a"), 0).Put("k", []byte("b"), 0))
	wantConflict(t, err, "k", 0, 1)
	wantNotFound(t, ctx, s, "k")

	put(t, ctx, s, "k", "a", 0)
	_, err = s.Apply(ctx, new(store.Batch).Put("k", []byte("b"), 1).Put("k", []byte("c"), 1))
	wantConflict(t, err, "k", 1, 2)
	wantGet(t, ctx, s, "k", "a", 1)

	_, err = s.Apply(ctx, new(store.Batch).Check("absent", 0).Check("k", 2))
	wantConflict(t, err, "k", 2, 1)
	_, err = s.Apply(ctx, new(store.Batch).Check("k", store.AnyVersion).Check("k", 1).Check("absent", 0))
	must(t, err, "passing checks")
}

// testCASConcurrent: many goroutines race to write each version of one
// key; exactly one wins each round.
func testCASConcurrent(t *testing.T, ctx context.Context, s store.Store) {
	const (
		writers = 16
		rounds  = 10
	)
	for round := uint64(0); round < rounds; round++ {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []int
		)
		for w := range writers {
			wg.Go(func() {
				v, err := s.Put(ctx, "hot", []byte(fmt.Sprint(w)), round, 0)
				if err != nil {
					if !errors.Is(err, store.ErrConflict) {
						t.Errorf("losing writer: %v, want a conflict", err)
					}
					return
				}
				if v != round+1 {
					t.Errorf("winner got version %d, want %d", v, round+1)
				}
				mu.Lock()
				winners = append(winners, w)
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: %d winners %v, want exactly 1", round, len(winners), winners)
		}
		wantGet(t, ctx, s, "hot", fmt.Sprint(winners[0]), round+1)
	}
}
