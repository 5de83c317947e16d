// Package bolt is the embedded, single-node backend of internal/store: one
// bbolt file under the data dir. Every write is committed in a bbolt
// read-write transaction with fsync on before it is acknowledged, so it
// survives a crash (kill -9, power loss on a disk that honours fdatasync).
// Concurrent writes share transactions (group commit, see committer), each
// still checked and refused on its own. Publish/Subscribe
// are in-process only, which is all a single node needs.
//
// Layout (top-level buckets):
//
//	rec  key → version(8 BE) | expiresAt(8 BE unix ns, 0 = never) | value
//	exp  expiresAt(8 BE) | key → nil   (what the sweeper visits)
//	idx  name → bucket{ s: score(8, order-preserving) | member → nil,
//	                    m: member → score(8) }
//	log  name → bucket{ offset(8 BE) → value }, bucket sequence = last offset
//	seq  name → value(8 BE)
//
// It imports only internal/store and bbolt.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"

	"pingan/internal/store"
)

// Top-level bucket names.
var (
	bucketRecords = []byte("rec")
	bucketExpiry  = []byte("exp")
	bucketIndexes = []byte("idx")
	bucketLogs    = []byte("log")
	bucketSeqs    = []byte("seq")

	subScores  = []byte("s")
	subMembers = []byte("m")
)

// Defaults.
const (
	openTimeout   = time.Second // a second opener fails after this instead of blocking
	sweepInterval = time.Minute // how often expired records are purged
	sweepBatch    = 1000        // expired records deleted per sweep transaction
)

// Store is the bbolt backend of store.Store. It is safe for concurrent use.
type Store struct {
	db     *bbolt.DB
	now    func() time.Time
	topics *topics
	writes *committer

	closed    atomic.Bool
	closeOnce sync.Once
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// Open opens (or creates) the store file at path. A file already opened by
// another process (or another Open) is an error after one second.
func Open(path string) (*Store, error) {
	return open(path, sweepInterval)
}

func open(path string, sweepEvery time.Duration) (*Store, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: openTimeout})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return nil, fmt.Errorf("bolt open %s: file is locked by another process (another hub running?): %w", path, err)
		}
		return nil, fmt.Errorf("bolt open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketRecords, bucketExpiry, bucketIndexes, bucketLogs, bucketSeqs} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bolt open %s: create buckets: %w", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{db: db, now: time.Now, topics: newTopics(), cancel: cancel}
	s.writes = newCommitter(db, func() time.Time { return s.now() })
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.writes.run()
	}()
	go s.sweepLoop(ctx, sweepEvery)
	return s, nil
}

// Close stops the sweeper, closes every subscription and the file.
// Calls after Close return store.ErrClosed.
func (s *Store) Close() error {
	err := store.ErrClosed
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cancel()
		s.writes.stop() // once the writes already queued have committed
		s.wg.Wait()
		s.topics.closeAll()
		err = s.db.Close()
		if err != nil {
			err = fmt.Errorf("bolt close: %w", err)
		}
	})
	return err
}

// Ping reports whether the store is open.
func (s *Store) Ping(ctx context.Context) error {
	return s.enter(ctx, "ping")
}

// enter checks the store is open and ctx is live before an operation.
func (s *Store) enter(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("bolt %s: %w", op, store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt %s: %w", op, err)
	}
	return nil
}

// view runs a read-only transaction.
func (s *Store) view(ctx context.Context, op string, fn func(tx *bbolt.Tx) error) error {
	if err := s.enter(ctx, op); err != nil {
		return err
	}
	return s.wrap(op, s.db.View(fn))
}

// update runs fn in the committer's next read-write transaction and
// returns once that has committed and synced. fn must refuse a write with
// reject(err) before writing anything; any other error from fn fails every
// write of the transaction.
func (s *Store) update(ctx context.Context, op string, fn func(t txn) error) error {
	if err := s.enter(ctx, op); err != nil {
		return err
	}
	return s.wrap(op, s.writes.submit(ctx, op, fn))
}

func (s *Store) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bbolt.ErrDatabaseNotOpen):
		return fmt.Errorf("bolt %s: %w", op, store.ErrClosed)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		return err
	default:
		return fmt.Errorf("bolt %s: %w", op, err)
	}
}

// sweepLoop purges expired records until ctx ends.
func (s *Store) sweepLoop(ctx context.Context, every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for {
				n, err := s.sweep(ctx)
				if err != nil || n < sweepBatch {
					break
				}
			}
		}
	}
}

// sweep deletes up to sweepBatch expired records and reports how many.
func (s *Store) sweep(ctx context.Context) (int, error) {
	var n int
	err := s.update(ctx, "sweep", func(t txn) error {
		var err error
		n, err = t.purgeExpired(sweepBatch)
		return err
	})
	return n, err
}
