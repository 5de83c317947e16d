package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pingan/internal/store"
)

func testGetPut(t *testing.T, ctx context.Context, s store.Store) {
	wantNotFound(t, ctx, s, "case/1")
	if v := put(t, ctx, s, "case/1", "a", 0); v != 1 {
		t.Fatalf("first version = %d, want 1", v)
	}
	wantGet(t, ctx, s, "case/1", "a", 1)

	_, err := s.Put(ctx, "case/1", []byte("b"), 0, 0)
	wantConflict(t, err, "case/1", 0, 1)
	_, err = s.Put(ctx, "case/1", []byte("b"), 7, 0)
	wantConflict(t, err, "case/1", 7, 1)
	_, err = s.Put(ctx, "case/2", []byte("b"), 1, 0)
	wantConflict(t, err, "case/2", 1, 0)
	wantNotFound(t, ctx, s, "case/2")

	if v := put(t, ctx, s, "case/1", "b", 1); v != 2 {
		t.Fatalf("second version = %d, want 2", v)
	}
	if v := put(t, ctx, s, "case/1", "c", store.AnyVersion); v != 3 {
		t.Fatalf("AnyVersion put = %d, want 3", v)
	}
	if v := put(t, ctx, s, "case/3", "", store.AnyVersion); v != 1 {
		t.Fatalf("AnyVersion put on absent = %d, want 1", v)
	}
	wantGet(t, ctx, s, "case/1", "c", 3)
	wantGet(t, ctx, s, "case/3", "", 1)

	bin := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0}
	_, err = s.Put(ctx, "bin", bin, 0, 0)
	must(t, err, "put binary")
	wantGet(t, ctx, s, "bin", string(bin), 1)
}

func testPutCopiesValue(t *testing.T, ctx context.Context, s store.Store) {
	buf := []byte("original")
	_, err := s.Put(ctx, "k", buf, 0, 0)
	must(t, err, "put")
	copy(buf, "XXXXXXXX")
	r, err := s.Get(ctx, "k")
	must(t, err, "get")
	if string(r.Value) != "original" {
		t.Fatalf("stored value changed with caller's buffer: %q", r.Value)
	}
	copy(r.Value, "YYYYYYYY")
	wantGet(t, ctx, s, "k", "original", 1)
}

// testTTL sleeps past expiries; ttl leaves room for slow (-race, loaded)
// machines between a write and the read that expects it still alive.
func testTTL(t *testing.T, ctx context.Context, s store.Store) {
	const ttl = 500 * time.Millisecond
	_, err := s.Put(ctx, "lease/a", []byte("a"), 0, ttl)
	must(t, err, "put ttl a")
	_, err = s.Put(ctx, "lease/b", []byte("b"), 0, ttl)
	must(t, err, "put ttl b")
	put(t, ctx, s, "lease/c", "c", 0)
	// A later write without ttl makes b permanent.
	if v := put(t, ctx, s, "lease/b", "b2", 1); v != 2 {
		t.Fatalf("rewrite version = %d, want 2", v)
	}
	wantGet(t, ctx, s, "lease/a", "a", 1)

	time.Sleep(2 * ttl)
	wantNotFound(t, ctx, s, "lease/a")
	wantGet(t, ctx, s, "lease/b", "b2", 2)
	recs, err := s.Scan(ctx, "lease/", "", 0)
	must(t, err, "scan")
	if got := keys(recs); got != "[lease/b lease/c]" {
		t.Fatalf("scan after expiry = %s", got)
	}
	// An expired record is absent: version check 0 passes, versions restart.
	_, err = s.Put(ctx, "lease/a", []byte("again"), 1, 0)
	wantConflict(t, err, "lease/a", 1, 0)
	v, err := s.Put(ctx, "lease/a", []byte("again"), 0, time.Hour)
	must(t, err, "recreate expired")
	if v != 1 {
		t.Fatalf("recreated version = %d, want 1", v)
	}
	// A write with a ttl replaces the old expiry (here: shortens it).
	_, err = s.Put(ctx, "lease/a", []byte("short"), 1, ttl)
	must(t, err, "shorten")
	wantGet(t, ctx, s, "lease/a", "short", 2)
	time.Sleep(2 * ttl)
	wantNotFound(t, ctx, s, "lease/a")
}

func keys(recs []store.Record) string {
	ks := make([]string, len(recs))
	for i, r := range recs {
		ks[i] = r.Key
	}
	return fmt.Sprint(ks)
}

func testDelete(t *testing.T, ctx context.Context, s store.Store) {
	must(t, s.Delete(ctx, "nope", store.AnyVersion), "delete absent AnyVersion")
	wantConflict(t, s.Delete(ctx, "nope", 3), "nope", 3, 0)

	put(t, ctx, s, "k", "a", 0)
	put(t, ctx, s, "k", "b", 1)
	wantConflict(t, s.Delete(ctx, "k", 1), "k", 1, 2)
	wantConflict(t, s.Delete(ctx, "k", 0), "k", 0, 2)
	wantGet(t, ctx, s, "k", "b", 2)
	must(t, s.Delete(ctx, "k", 2), "delete with version")
	wantNotFound(t, ctx, s, "k")
	if v := put(t, ctx, s, "k", "c", 0); v != 1 {
		t.Fatalf("version after delete = %d, want 1", v)
	}
	must(t, s.Delete(ctx, "k", store.AnyVersion), "delete AnyVersion")
	wantNotFound(t, ctx, s, "k")
	recs, err := s.Scan(ctx, "", "", 0)
	must(t, err, "scan")
	if len(recs) != 0 {
		t.Fatalf("scan after delete = %s", keys(recs))
	}
}

func testScan(t *testing.T, ctx context.Context, s store.Store) {
	for _, k := range []string{"a/3", "a/1", "b/1", "a", "a/2", "a0", "a/2/x"} {
		put(t, ctx, s, k, "v:"+k, 0)
	}
	cases := []struct {
		prefix, after string
		limit         int
		want          string
	}{
		{"a/", "", 0, "[a/1 a/2 a/2/x a/3]"},
		{"a/", "a/1", 0, "[a/2 a/2/x a/3]"},
		{"a/", "a/2", 2, "[a/2/x a/3]"},
		{"a/", "", 2, "[a/1 a/2]"},
		{"a/", "0", 0, "[a/1 a/2 a/2/x a/3]"},
		{"a/", "a/3", 0, "[]"},
		{"a/", "z", 0, "[]"},
		{"", "", 0, "[a a/1 a/2 a/2/x a/3 a0 b/1]"},
		{"", "a0", 0, "[b/1]"},
		{"a", "", 3, "[a a/1 a/2]"},
		{"c", "", 0, "[]"},
	}
	for _, c := range cases {
		recs, err := s.Scan(ctx, c.prefix, c.after, c.limit)
		must(t, err, "scan")
		if got := keys(recs); got != c.want {
			t.Errorf("Scan(%q, %q, %d) = %s, want %s", c.prefix, c.after, c.limit, got, c.want)
		}
		for _, r := range recs {
			if string(r.Value) != "v:"+r.Key || r.Version != 1 {
				t.Errorf("Scan record %q = {%q %d}", r.Key, r.Value, r.Version)
			}
		}
	}
}
