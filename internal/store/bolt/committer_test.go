package bolt

import (
	"context"
	"errors"
	"testing"
	"time"

	"pingan/internal/store"
)

// holdCommitter occupies the committer with one write until release is
// called, so that the writes queued meanwhile share the next transaction.
func holdCommitter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	held, chRelease, chDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		chDone <- s.update(context.Background(), "hold", func(txn) error {
			close(held)
			<-chRelease
			return nil
		})
	}()
	<-held
	return func() {
		close(chRelease)
		if err := <-chDone; err != nil {
			t.Errorf("hold: %v", err)
		}
	}
}

// queue starts fn in a goroutine and waits until its write is queued
// behind the held one, so writes queue in the order they were started.
func queue[T any](t *testing.T, s *Store, fn func() T) <-chan T {
	t.Helper()
	s.writes.mu.Lock()
	n := len(s.writes.pending)
	s.writes.mu.Unlock()
	ch := make(chan T, 1)
	go func() { ch <- fn() }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.writes.mu.Lock()
		queued := len(s.writes.pending) > n
		s.writes.mu.Unlock()
		if queued {
			return ch
		}
		if time.Now().After(deadline) {
			t.Fatal("write was not queued")
		}
		time.Sleep(time.Millisecond)
	}
}

type applied struct {
	res store.Result
	err error
}

// txID records the id of the transaction a probe write ran in.
func txID(s *Store) func() uint64 {
	return func() uint64 {
		var id uint64
		_ = s.update(context.Background(), "probe", func(t txn) error {
			id = uint64(t.tx.ID())
			return nil
		})
		return id
	}
}

// TestGroupCommitRefusesAlone: writes queued behind one in flight share
// one transaction; each is checked against the state the earlier ones
// leave, and a refused one fails alone without partial writes.
func TestGroupCommitRefusesAlone(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "k", []byte("v1"), 0, 0); err != nil {
		t.Fatal(err)
	}
	apply := func(b *store.Batch) func() applied {
		return func() applied {
			res, err := s.Apply(ctx, b)
			return applied{res, err}
		}
	}
	release := holdCommitter(t, s)
	first := queue(t, s, txID(s))
	a := queue(t, s, apply(new(store.Batch).Put("k", []byte("v2"), 1).Append("log", []byte("a"))))
	stale := queue(t, s, apply(new(store.Batch).Put("k", []byte("lost"), 1)))
	partial := queue(t, s, apply(new(store.Batch).Put("p", []byte("p"), 0).Append("log", []byte("x")).
		Check("k", 1).IndexAdd("ix", "p", 1)))
	empty := queue(t, s, func() error { _, err := s.Put(ctx, "", []byte("x"), 0, 0); return err })
	b := queue(t, s, apply(new(store.Batch).Put("k", []byte("v3"), 2).Append("log", []byte("b"))))
	next := queue(t, s, func() applied { v, err := s.Next(ctx, "seq"); return applied{store.Result{Seqs: []uint64{v}}, err} })
	last := queue(t, s, txID(s))
	release()

	if r := <-a; r.err != nil || r.res.Versions[0] != 2 || r.res.Offsets[0] != 1 {
		t.Fatalf("a = %+v", r)
	}
	if r := <-stale; !errors.Is(r.err, store.ErrConflict) {
		t.Fatalf("stale write: %v, want a conflict", r.err)
	}
	var ce *store.ConflictError
	if r := <-partial; !errors.As(r.err, &ce) || ce.Key != "k" || ce.Actual != 2 {
		t.Fatalf("partial batch: %v, want a conflict on k at version 2", r.err)
	}
	if err := <-empty; err == nil {
		t.Fatal("empty key accepted")
	}
	if r := <-b; r.err != nil || r.res.Versions[0] != 3 || r.res.Offsets[0] != 2 {
		t.Fatalf("b = %+v", r)
	}
	if r := <-next; r.err != nil || r.res.Seqs[0] != 1 {
		t.Fatalf("next = %+v", r)
	}
	if id1, id2 := <-first, <-last; id1 == 0 || id1 != id2 {
		t.Fatalf("queued writes ran in transactions %d and %d, want one", id1, id2)
	}
	if r, err := s.Get(ctx, "k"); err != nil || string(r.Value) != "v3" || r.Version != 3 {
		t.Fatalf("k = %+v, %v", r, err)
	}
	if _, err := s.Get(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused batch wrote p: %v", err)
	}
	if n, err := s.IndexCount(ctx, "ix", 0, 10); err != nil || n != 0 {
		t.Fatalf("refused batch wrote the index: %d, %v", n, err)
	}
	if _, last, err := s.LogBounds(ctx, "log"); err != nil || last != 2 {
		t.Fatalf("log ends at %d, %v; want 2", last, err)
	}
}

// TestGroupCommitFailsTogether: an error that is not a refusal, found
// after writing, fails every write of its transaction and keeps none.
func TestGroupCommitFailsTogether(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	boom := errors.New("boom")
	release := holdCommitter(t, s)
	ok := queue(t, s, func() error { _, err := s.Put(ctx, "ok", []byte("x"), 0, 0); return err })
	bad := queue(t, s, func() error {
		return s.update(ctx, "bad", func(t txn) error {
			if _, err := t.appendLog("log", []byte("x")); err != nil {
				return err
			}
			return boom
		})
	})
	release()
	if err := <-ok; !errors.Is(err, boom) {
		t.Fatalf("write grouped with a failed one: %v, want boom", err)
	}
	if err := <-bad; !errors.Is(err, boom) {
		t.Fatalf("failed write: %v, want boom", err)
	}
	if _, err := s.Get(ctx, "ok"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("failed group kept a write: %v", err)
	}
	if _, last, err := s.LogBounds(ctx, "log"); err != nil || last != 0 {
		t.Fatalf("failed group kept the append: last %d, %v", last, err)
	}
	if _, err := s.Put(ctx, "after", []byte("x"), 0, 0); err != nil {
		t.Fatalf("write after a failed group: %v", err)
	}
}

// TestCloseCommitsQueued: writes queued when Close starts still commit;
// writes after Close are refused with store.ErrClosed.
func TestCloseCommitsQueued(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	release := holdCommitter(t, s)
	queued := queue(t, s, func() error { _, err := s.Put(ctx, "q", []byte("x"), 0, 0); return err })
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	release()
	if err := <-queued; err != nil {
		t.Fatalf("queued write: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := s.Put(ctx, "late", []byte("x"), 0, 0); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("put after close: %v, want ErrClosed", err)
	}
}
