package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"testing"

	"pingan/internal/store"
)

func indexAdd(t *testing.T, ctx context.Context, s store.Store, index string, kv ...any) {
	t.Helper()
	b := new(store.Batch)
	for i := 0; i+1 < len(kv); i += 2 {
		b.IndexAdd(index, kv[i].(string), kv[i+1].(float64)) //nolint:forcetypeassert // test table
	}
	_, err := s.Apply(ctx, b)
	must(t, err, "index add")
}

func members(es []store.IndexEntry) string {
	ms := make([]string, len(es))
	for i, e := range es {
		ms[i] = e.Member
	}
	return fmt.Sprint(ms)
}

func testIndexRange(t *testing.T, ctx context.Context, s store.Store) {
	indexAdd(t, ctx, s, "ix",
		"e", 5.0, "b", 2.0, "a", 1.0, "c2", 3.0, "c1", 3.0, "c3", 3.0, "n", -1.5, "big", 1e12, "d", 4.0)
	all := store.Range{Min: math.Inf(-1), Max: math.Inf(1)}
	cases := []struct {
		name string
		r    store.Range
		want string
	}{
		{"all", all, "[n a b c1 c2 c3 d e big]"},
		{"min-max", store.Range{Min: 2, Max: 4}, "[b c1 c2 c3 d]"},
		{"ties", store.Range{Min: 3, Max: 3}, "[c1 c2 c3]"},
		{"offset", store.Range{Min: 2, Max: 4, Offset: 2}, "[c2 c3 d]"},
		{"limit", store.Range{Min: 2, Max: 4, Limit: 2}, "[b c1]"},
		{"offset-limit", store.Range{Min: 2, Max: 4, Offset: 1, Limit: 3}, "[c1 c2 c3]"},
		{"rev", store.Range{Min: 2, Max: 4, Rev: true}, "[d c3 c2 c1 b]"},
		{"rev-all", store.Range{Min: math.Inf(-1), Max: math.Inf(1), Rev: true}, "[big e d c3 c2 c1 b a n]"},
		{"rev-offset-limit", store.Range{Min: 2, Max: 4, Rev: true, Offset: 1, Limit: 2}, "[c3 c2]"},
		{"rev-fraction", store.Range{Min: 1.5, Max: 4.5, Rev: true}, "[d c3 c2 c1 b]"},
		{"negative", store.Range{Min: -2, Max: 0}, "[n]"},
		{"empty", store.Range{Min: 6, Max: 100}, "[]"},
		{"min>max", store.Range{Min: 4, Max: 2}, "[]"},
		{"offset-past-end", store.Range{Min: 2, Max: 4, Offset: 10}, "[]"},
	}
	for _, c := range cases {
		got, err := s.IndexRange(ctx, "ix", c.r)
		must(t, err, "index range "+c.name)
		if m := members(got); m != c.want {
			t.Errorf("%s: IndexRange(%+v) = %s, want %s", c.name, c.r, m, c.want)
		}
	}
	got, err := s.IndexRange(ctx, "ix", store.Range{Min: 1e12, Max: 1e12})
	must(t, err, "index range big")
	if len(got) != 1 || got[0].Score != 1e12 {
		t.Fatalf("scores must round-trip: %v", got)
	}
	// Rescore moves a member; remove drops it.
	_, err = s.Apply(ctx, new(store.Batch).IndexAdd("ix", "a", 10).IndexRemove("ix", "e"))
	must(t, err, "rescore")
	got, err = s.IndexRange(ctx, "ix", all)
	must(t, err, "index range after rescore")
	if m := members(got); m != "[n b c1 c2 c3 d a big]" {
		t.Fatalf("after rescore: %s", m)
	}
	got, err = s.IndexRange(ctx, "no-such-index", all)
	if err != nil || len(got) != 0 {
		t.Fatalf("absent index: %v, %v", got, err)
	}
}

func testIndexScoreCount(t *testing.T, ctx context.Context, s store.Store) {
	indexAdd(t, ctx, s, "ix", "a", 1.0, "b", 2.5, "c", 2.5, "d", -4.0)
	score, err := s.IndexScore(ctx, "ix", "b")
	must(t, err, "index score")
	if score != 2.5 {
		t.Fatalf("score = %v, want 2.5", score)
	}
	_, err = s.IndexScore(ctx, "ix", "zz")
	wantErr(t, err, store.ErrNotFound, "absent member")
	_, err = s.IndexScore(ctx, "no-such-index", "a")
	wantErr(t, err, store.ErrNotFound, "absent index")

	counts := []struct {
		min, max float64
		want     int
	}{
		{math.Inf(-1), math.Inf(1), 4}, {1, 2.5, 3}, {2.5, 2.5, 2}, {-10, 0, 1}, {3, 9, 0}, {5, 1, 0},
	}
	for _, c := range counts {
		n, err := s.IndexCount(ctx, "ix", c.min, c.max)
		must(t, err, "index count")
		if n != c.want {
			t.Errorf("IndexCount(%v, %v) = %d, want %d", c.min, c.max, n, c.want)
		}
	}
	n, err := s.IndexCount(ctx, "no-such-index", 0, 1)
	if err != nil || n != 0 {
		t.Fatalf("count of absent index = %d, %v", n, err)
	}
}

func testIndexInfinities(t *testing.T, ctx context.Context, s store.Store) {
	indexAdd(t, ctx, s, "ix", "low", math.Inf(-1), "zero", 0.0, "high", math.Inf(1), "max", math.MaxFloat64)
	got, err := s.IndexRange(ctx, "ix", store.Range{Min: math.Inf(-1), Max: math.Inf(1)})
	must(t, err, "index range")
	if m := members(got); m != "[low zero max high]" {
		t.Fatalf("order with infinities: %s", m)
	}
	if !math.IsInf(got[0].Score, -1) || !math.IsInf(got[3].Score, 1) || got[2].Score != math.MaxFloat64 {
		t.Fatalf("infinite scores did not round-trip: %v", got)
	}
	got, err = s.IndexRange(ctx, "ix", store.Range{Min: 0, Max: math.MaxFloat64, Rev: true})
	must(t, err, "rev range to MaxFloat64")
	if m := members(got); m != "[max zero]" {
		t.Fatalf("rev range to MaxFloat64: %s", m)
	}
}

func testClaimDue(t *testing.T, ctx context.Context, s store.Store) {
	indexAdd(t, ctx, s, "due", "c5", 5.0, "c1", 1.0, "c3", 3.0, "c2", 2.0, "c9", 9.0, "c4", 4.0)
	got, err := s.ClaimDue(ctx, "due", 4, 2)
	must(t, err, "claim")
	if fmt.Sprint(got) != "[{c1 1} {c2 2}]" {
		t.Fatalf("first claim = %v", got)
	}
	got, err = s.ClaimDue(ctx, "due", 4, 10)
	must(t, err, "claim")
	if fmt.Sprint(got) != "[{c3 3} {c4 4}]" {
		t.Fatalf("second claim = %v", got)
	}
	got, err = s.ClaimDue(ctx, "due", 4, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("nothing due: %v, %v", got, err)
	}
	got, err = s.ClaimDue(ctx, "due", math.Inf(1), 0)
	must(t, err, "claim all")
	if fmt.Sprint(got) != "[{c5 5} {c9 9}]" {
		t.Fatalf("claim with limit 0 = %v", got)
	}
	got, err = s.ClaimDue(ctx, "no-such-index", 100, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("claim on absent index: %v, %v", got, err)
	}
}

// testClaimDueConcurrent: claimers race; every entry is claimed exactly once.
func testClaimDueConcurrent(t *testing.T, ctx context.Context, s store.Store) {
	const entries, claimers = 300, 16
	b := new(store.Batch)
	for i := range entries {
		b.IndexAdd("due", fmt.Sprintf("m%04d", i), float64(i%37))
	}
	b.IndexAdd("due", "future", 1000)
	_, err := s.Apply(ctx, b)
	must(t, err, "seed")

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed []string
	)
	for range claimers {
		wg.Go(func() {
			for ctx.Err() == nil {
				got, err := s.ClaimDue(ctx, "due", 100, 7)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, e := range got {
					claimed = append(claimed, e.Member)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sort.Strings(claimed)
	if len(claimed) != entries {
		t.Fatalf("claimed %d entries, want %d", len(claimed), entries)
	}
	for i, m := range claimed {
		if want := fmt.Sprintf("m%04d", i); m != want {
			t.Fatalf("claimed[%d] = %s, want %s (duplicate or missing)", i, m, want)
		}
	}
	if _, err := s.IndexScore(ctx, "due", "future"); errors.Is(err, store.ErrNotFound) {
		t.Fatal("an entry that was not due was claimed")
	}
}
