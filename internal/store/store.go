// Package store is the hub's durable state behind one small interface with
// two backends: internal/store/bolt (embedded default, one file under the
// data dir) and internal/store/redis (go-redis; needed for several nodes).
// internal/hub picks one at wiring time; internal/store/storetest is the
// conformance suite both pass. It imports only configs.
//
// The model:
//   - records: a key → value with a version that starts at 1 and grows by one
//     on each write; writes may require an expected version (compare-and-set);
//     records may expire (TTL);
//   - indexes: named sorted sets of (member, score), for listings and
//     deadlines; ClaimDue removes and returns due entries atomically, so two
//     nodes never both claim one;
//   - logs: named append-only logs whose offsets start at 1 and increase by
//     one with no gaps, read by range;
//   - sequences: named counters;
//   - Apply: any mix of the above as one atomic write, or nothing;
//   - topics: cross-node publish/subscribe notifications (best effort, not
//     durable: readers catch up from logs).
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AnyVersion as an expected version skips the version check.
const AnyVersion = ^uint64(0)

// Sentinel errors. Backends wrap them; test with errors.Is.
var (
	ErrNotFound    = errors.New("store: not found")
	ErrConflict    = errors.New("store: version conflict")
	ErrUnavailable = errors.New("store: unavailable")
	ErrClosed      = errors.New("store: closed")
)

// ConflictError names the key whose version did not match.
type ConflictError struct {
	Key      string
	Expected uint64
	Actual   uint64 // 0 when the record does not exist
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("store: version conflict on %q: expected %d, have %d", e.Key, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Record is a stored value with its version (0 = absent).
type Record struct {
	Key     string
	Value   []byte
	Version uint64
}

// IndexEntry is one member of a sorted index.
type IndexEntry struct {
	Member string
	Score  float64
}

// LogEntry is one entry of an append-only log.
type LogEntry struct {
	Offset uint64
	Value  []byte
}

// Range selects index entries with Min <= score <= Max, ordered by score
// (then member), skipping Offset entries and returning at most Limit (0 = no
// limit). Rev reverses the order.
type Range struct {
	Min, Max float64
	Offset   int
	Limit    int
	Rev      bool
}

// Store is the durable state. Every method honours ctx and returns
// ErrUnavailable (wrapped) within a bounded time when the backend cannot be
// reached.
type Store interface {
	// Get returns the record or ErrNotFound.
	Get(ctx context.Context, key string) (Record, error)
	// Scan returns records whose key starts with prefix and sorts after
	// `after` (exclusive; "" = from the start), in key order, at most limit (0 = all).
	Scan(ctx context.Context, prefix, after string, limit int) ([]Record, error)
	// Put writes value if the record's version equals expect (0 = must not
	// exist; AnyVersion = unconditional) and returns the new version.
	// A ttl > 0 makes the record expire. A mismatch is a *ConflictError.
	Put(ctx context.Context, key string, value []byte, expect uint64, ttl time.Duration) (uint64, error)
	// Delete removes the record if its version equals expect (AnyVersion =
	// unconditional). Deleting an absent record with AnyVersion is not an error.
	Delete(ctx context.Context, key string, expect uint64) error

	// Apply performs every operation of b atomically, in order, or none of
	// them. A failed check is a *ConflictError.
	Apply(ctx context.Context, b *Batch) (Result, error)

	// IndexRange lists entries of a sorted index.
	IndexRange(ctx context.Context, index string, r Range) ([]IndexEntry, error)
	// IndexScore returns a member's score, or ErrNotFound.
	IndexScore(ctx context.Context, index, member string) (float64, error)
	// IndexCount returns the number of members with min <= score <= max.
	IndexCount(ctx context.Context, index string, min, max float64) (int, error)
	// ClaimDue atomically removes and returns up to limit entries with
	// score <= max, lowest first. Concurrent callers (on any node) never
	// receive the same entry.
	ClaimDue(ctx context.Context, index string, max float64, limit int) ([]IndexEntry, error)

	// Append adds value to a log and returns its offset.
	Append(ctx context.Context, log string, value []byte) (uint64, error)
	// ReadLog returns up to limit entries with offset >= from, oldest first.
	ReadLog(ctx context.Context, log string, from uint64, limit int) ([]LogEntry, error)
	// LogBounds returns the first and last offsets still held (0, 0 for an
	// empty log; first > 1 after trimming).
	LogBounds(ctx context.Context, log string) (first, last uint64, err error)
	// TrimLog drops entries with offset < before.
	TrimLog(ctx context.Context, log string, before uint64) error

	// Next increments and returns the named sequence (first value 1).
	Next(ctx context.Context, seq string) (uint64, error)

	// Publish sends msg to every current subscriber of topic on every node.
	Publish(ctx context.Context, topic string, msg []byte) error
	// Subscribe delivers messages published to topic until ctx ends; the
	// channel is then closed. A slow subscriber loses messages rather than
	// blocking publishers.
	Subscribe(ctx context.Context, topic string) (<-chan []byte, error)

	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend. Calls after Close return ErrClosed.
	Close() error
}
