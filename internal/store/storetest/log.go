package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"pingan/internal/store"
)

func offsets(es []store.LogEntry) string {
	os := make([]uint64, len(es))
	for i, e := range es {
		os[i] = e.Offset
	}
	return fmt.Sprint(os)
}

func testLog(t *testing.T, ctx context.Context, s store.Store) {
	first, last, err := s.LogBounds(ctx, "events")
	if err != nil || first != 0 || last != 0 {
		t.Fatalf("empty log bounds = %d, %d, %v", first, last, err)
	}
	for i := 1; i <= 10; i++ {
		off, err := s.Append(ctx, "events", []byte(fmt.Sprintf("e%d", i)))
		must(t, err, "append")
		if off != uint64(i) {
			t.Fatalf("offset = %d, want %d", off, i)
		}
	}
	off, err := s.Append(ctx, "other", []byte("x"))
	if err != nil || off != 1 {
		t.Fatalf("other log starts at %d, %v; want 1", off, err)
	}
	reads := []struct {
		from  uint64
		limit int
		want  string
	}{
		{1, 0, "[1 2 3 4 5 6 7 8 9 10]"}, {0, 3, "[1 2 3]"}, {4, 3, "[4 5 6]"},
		{9, 5, "[9 10]"}, {11, 5, "[]"}, {100, 0, "[]"},
	}
	for _, r := range reads {
		es, err := s.ReadLog(ctx, "events", r.from, r.limit)
		must(t, err, "read log")
		if got := offsets(es); got != r.want {
			t.Errorf("ReadLog(%d, %d) = %s, want %s", r.from, r.limit, got, r.want)
		}
		for _, e := range es {
			if string(e.Value) != fmt.Sprintf("e%d", e.Offset) {
				t.Errorf("entry %d = %q", e.Offset, e.Value)
			}
		}
	}
	first, last, err = s.LogBounds(ctx, "events")
	if err != nil || first != 1 || last != 10 {
		t.Fatalf("bounds = %d..%d, %v; want 1..10", first, last, err)
	}

	must(t, s.TrimLog(ctx, "events", 4), "trim")
	first, last, err = s.LogBounds(ctx, "events")
	if err != nil || first != 4 || last != 10 {
		t.Fatalf("bounds after trim = %d..%d, %v; want 4..10", first, last, err)
	}
	es, err := s.ReadLog(ctx, "events", 1, 2)
	must(t, err, "read trimmed")
	if got := offsets(es); got != "[4 5]" {
		t.Fatalf("read from trimmed start = %s, want [4 5]", got)
	}
	must(t, s.TrimLog(ctx, "events", 2), "trim below first")
	must(t, s.TrimLog(ctx, "no-such-log", 5), "trim absent log")
	if off, err := s.Append(ctx, "events", []byte("e11")); err != nil || off != 11 {
		t.Fatalf("append after trim = %d, %v; want 11", off, err)
	}
	es, err = s.ReadLog(ctx, "no-such-log", 1, 10)
	if err != nil || len(es) != 0 {
		t.Fatalf("read absent log: %v, %v", es, err)
	}
}

func testLogTrimAll(t *testing.T, ctx context.Context, s store.Store) {
	for range 3 {
		_, err := s.Append(ctx, "events", []byte("x"))
		must(t, err, "append")
	}
	must(t, s.TrimLog(ctx, "events", 100), "trim all")
	first, last, err := s.LogBounds(ctx, "events")
	if err != nil || first != 0 || last != 0 {
		t.Fatalf("bounds of emptied log = %d..%d, %v; want 0..0", first, last, err)
	}
	off, err := s.Append(ctx, "events", []byte("y"))
	if err != nil || off != 4 {
		t.Fatalf("append after trimming all = %d, %v; want 4 (offsets never reused)", off, err)
	}
	first, last, err = s.LogBounds(ctx, "events")
	if err != nil || first != 4 || last != 4 {
		t.Fatalf("bounds = %d..%d, %v; want 4..4", first, last, err)
	}
}

// testLogConcurrent: 50 appenders; offsets are exactly 1..N and the log
// reads back in offset order with each appender's value at its offset.
func testLogConcurrent(t *testing.T, ctx context.Context, s store.Store) {
	const appenders, each = 50, 8
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[uint64]string{}
	)
	for a := range appenders {
		wg.Go(func() {
			for i := range each {
				v := fmt.Sprintf("a%d-%d", a, i)
				var off uint64
				var err error
				if i%2 == 0 {
					off, err = s.Append(ctx, "events", []byte(v))
				} else {
					var res store.Result
					res, err = s.Apply(ctx, new(store.Batch).Append("events", []byte(v)))
					if err == nil {
						off = res.Offsets[0]
					}
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				if prev, dup := got[off]; dup {
					t.Errorf("offset %d given twice (%s, %s)", off, prev, v)
				}
				got[off] = v
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	const n = appenders * each
	es, err := s.ReadLog(ctx, "events", 1, 0)
	must(t, err, "read log")
	if len(es) != n || len(got) != n {
		t.Fatalf("read %d entries, acknowledged %d, want %d", len(es), len(got), n)
	}
	for i, e := range es {
		if e.Offset != uint64(i+1) || string(e.Value) != got[e.Offset] {
			t.Fatalf("entry %d = {%d %q}, want {%d %q}", i, e.Offset, e.Value, i+1, got[uint64(i+1)])
		}
	}
}

func testNextConcurrent(t *testing.T, ctx context.Context, s store.Store) {
	const workers, each = 50, 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		vals []uint64
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				var v uint64
				var err error
				if (w+i)%2 == 0 {
					v, err = s.Next(ctx, "code")
				} else {
					var res store.Result
					res, err = s.Apply(ctx, new(store.Batch).Next("code"))
					if err == nil {
						v = res.Seqs[0]
					}
				}
				if err != nil {
					t.Errorf("next: %v", err)
					return
				}
				mu.Lock()
				vals = append(vals, v)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(vals)
	for i, v := range vals {
		if v != uint64(i+1) {
			t.Fatalf("sorted values[%d] = %d, want %d (duplicate or gap)", i, v, i+1)
		}
	}
	if v, err := s.Next(ctx, "other"); err != nil || v != 1 {
		t.Fatalf("independent sequence starts at %d, %v", v, err)
	}
}
