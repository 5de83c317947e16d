package bolt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// maxGroup bounds how many writes share one transaction.
const maxGroup = 1000

// writeReq is one write waiting for the committer. fn runs inside the
// group's transaction; its outcome is sent on chRes (buffered, one value).
type writeReq struct {
	ctx   context.Context
	op    string
	fn    func(t txn) error
	chRes chan error
}

// rejectError marks an error that fn returned before writing anything (a
// failed version check, an unusable name): that request alone fails and
// the rest of its group still commits. Any other error from fn fails the
// whole group, since bbolt cannot roll back part of a transaction.
type rejectError struct{ err error }

func (e *rejectError) Error() string { return e.err.Error() }
func (e *rejectError) Unwrap() error { return e.err }

func reject(err error) error {
	if err == nil {
		return nil
	}
	return &rejectError{err: err}
}

// committer is group commit without added latency. A write that finds
// nothing queued and no transaction in flight commits at once, on its own
// goroutine; nobody waits for a timer, unlike bbolt's Batch. Writes that
// arrive while a transaction is in flight queue up, and the committer's
// goroutine runs all of them in the next transaction (one pair of
// fdatasyncs) once that one is on disk.
type committer struct {
	db  *bbolt.DB
	now func() time.Time

	commitMu sync.Mutex // held while a transaction runs

	mu      sync.Mutex
	pending []*writeReq
	stopped bool

	chWake chan struct{} // one slot: pending is not empty
	chStop chan struct{} // closed by stop
	chDone chan struct{} // closed when run returns
}

func newCommitter(db *bbolt.DB, now func() time.Time) *committer {
	return &committer{db: db, now: now, chWake: make(chan struct{}, 1),
		chStop: make(chan struct{}), chDone: make(chan struct{})}
}

// submit runs fn in a transaction and waits until that has committed (and
// synced) or failed. Writes already queued when the committer stops still
// commit.
func (c *committer) submit(ctx context.Context, op string, fn func(t txn) error) error {
	req := &writeReq{ctx: ctx, op: op, fn: fn, chRes: make(chan error, 1)}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return bbolt.ErrDatabaseNotOpen
	}
	if len(c.pending) == 0 && c.commitMu.TryLock() { // alone: commit now
		c.mu.Unlock()
		c.commit([]*writeReq{req})
		c.commitMu.Unlock()
		return <-req.chRes
	}
	c.pending = append(c.pending, req)
	select {
	case c.chWake <- struct{}{}:
	default: // a wake-up is already queued
	}
	c.mu.Unlock()
	return <-req.chRes
}

// run commits queued writes until stop, then commits what is left.
func (c *committer) run() {
	defer close(c.chDone)
	var spare []*writeReq
	for {
		select {
		case <-c.chWake:
			spare = c.drain(spare)
		case <-c.chStop:
			c.drain(spare)
			return
		}
	}
}

// drain commits groups until the queue is empty and returns a slice to
// reuse as the next queue.
func (c *committer) drain(spare []*writeReq) []*writeReq {
	for {
		c.commitMu.Lock() // after the transaction in flight
		c.mu.Lock()
		group := c.pending
		if len(group) > maxGroup {
			c.pending = append(spare[:0], group[maxGroup:]...)
			group = group[:maxGroup]
		} else {
			c.pending = spare[:0]
		}
		c.mu.Unlock()
		if len(group) == 0 {
			c.commitMu.Unlock()
			return group
		}
		c.commit(group)
		c.commitMu.Unlock()
		clear(group)
		spare = group[:0]
	}
}

// commit runs group in one transaction and answers every request in it.
func (c *committer) commit(group []*writeReq) {
	res := make([]error, len(group))
	failed := -1 // the request whose error failed the group
	err := c.db.Update(func(tx *bbolt.Tx) error {
		t := txn{tx: tx, now: c.now()}
		for i, r := range group {
			if err := r.ctx.Err(); err != nil {
				res[i] = err // given up before it started: not written
				continue
			}
			var rej *rejectError
			switch err := r.fn(t); {
			case err == nil:
			case errors.As(err, &rej):
				res[i] = rej.err
			default:
				failed = i
				return err
			}
		}
		return nil
	})
	for i, r := range group {
		switch {
		case err == nil || res[i] != nil:
		case failed >= 0 && i != failed:
			res[i] = fmt.Errorf("group commit failed by a %s: %w", group[failed].op, err)
		default:
			res[i] = err
		}
		r.chRes <- res[i]
	}
}

// stop refuses new writes and waits for the queued ones to commit.
func (c *committer) stop() {
	c.mu.Lock()
	if !c.stopped {
		c.stopped = true
		close(c.chStop)
	}
	c.mu.Unlock()
	<-c.chDone
	c.commitMu.Lock() // and for a lone write committing on its own
	c.commitMu.Unlock()
}
