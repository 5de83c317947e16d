package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	bbolt "go.etcd.io/bbolt"

	"pingan/internal/store"
)

var errNaN = errors.New("score is NaN")

// encodeScore maps a float64 to 8 bytes whose byte order is the numeric
// order: flip the sign bit of positives, all bits of negatives.
func encodeScore(f float64) []byte {
	if f == 0 {
		f = 0 // -0 sorts as +0
	}
	u := math.Float64bits(f)
	if u&(1<<63) != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, u)
	return b
}

func decodeScore(b []byte) float64 {
	u := binary.BigEndian.Uint64(b)
	if u&(1<<63) != 0 {
		u &^= 1 << 63
	} else {
		u = ^u
	}
	return math.Float64frombits(u)
}

// index returns the two sub-buckets of a named index; nil when absent and
// create is false.
func (t txn) index(name string, create bool) (scores, members *bbolt.Bucket, err error) {
	root := t.tx.Bucket(bucketIndexes)
	b := root.Bucket([]byte(name))
	if b == nil {
		if !create {
			return nil, nil, nil
		}
		if name == "" {
			return nil, nil, errEmptyName
		}
		if b, err = root.CreateBucket([]byte(name)); err != nil {
			return nil, nil, err
		}
		if _, err = b.CreateBucket(subScores); err != nil {
			return nil, nil, err
		}
		if _, err = b.CreateBucket(subMembers); err != nil {
			return nil, nil, err
		}
	}
	return b.Bucket(subScores), b.Bucket(subMembers), nil
}

func (t txn) indexAdd(name, member string, score float64) error {
	if math.IsNaN(score) {
		return errNaN
	}
	scores, members, err := t.index(name, true)
	if err != nil {
		return err
	}
	if err := removeMember(scores, members, member); err != nil {
		return err
	}
	enc := encodeScore(score)
	if err := scores.Put(append(enc, member...), nil); err != nil {
		return err
	}
	return members.Put([]byte(member), enc[:8])
}

func (t txn) indexRemove(name, member string) error {
	scores, members, err := t.index(name, false)
	if err != nil || scores == nil {
		return err
	}
	return removeMember(scores, members, member)
}

func removeMember(scores, members *bbolt.Bucket, member string) error {
	old := members.Get([]byte(member))
	if old == nil {
		return nil
	}
	if err := scores.Delete(append(bytes.Clone(old), member...)); err != nil {
		return err
	}
	return members.Delete([]byte(member))
}

// walk visits entries with min <= score <= max in order (reverse when rev)
// until fn returns false.
func walk(scores *bbolt.Bucket, min, max float64, rev bool, fn func(k []byte) bool) {
	lo, hi := encodeScore(min), encodeScore(max)
	c := scores.Cursor()
	if !rev {
		for k, _ := c.Seek(lo); k != nil && bytes.Compare(k[:8], hi) <= 0; k, _ = c.Next() {
			if !fn(k) {
				return
			}
		}
		return
	}
	// Position on the last key whose score is <= max: just before the
	// first key with a greater score, or on the last key.
	k, _ := c.Seek(encodeScore(math.Nextafter(max, math.Inf(1))))
	if k == nil || math.IsInf(max, 1) {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.Compare(k[:8], lo) >= 0; k, _ = c.Prev() {
		if bytes.Compare(k[:8], hi) > 0 {
			continue
		}
		if !fn(k) {
			return
		}
	}
}

func entryOf(k []byte) store.IndexEntry {
	return store.IndexEntry{Member: string(k[8:]), Score: decodeScore(k[:8])}
}

// IndexRange lists entries of a sorted index; see store.Range.
func (s *Store) IndexRange(ctx context.Context, index string, r store.Range) ([]store.IndexEntry, error) {
	var out []store.IndexEntry
	err := s.view(ctx, "index range", func(tx *bbolt.Tx) error {
		scores, _, err := txn{tx: tx}.index(index, false)
		if err != nil || scores == nil || math.IsNaN(r.Min) || math.IsNaN(r.Max) {
			return err
		}
		skip := r.Offset
		walk(scores, r.Min, r.Max, r.Rev, func(k []byte) bool {
			if skip > 0 {
				skip--
				return true
			}
			out = append(out, entryOf(k))
			return r.Limit <= 0 || len(out) < r.Limit
		})
		return nil
	})
	return out, err
}

// IndexScore returns member's score or store.ErrNotFound.
func (s *Store) IndexScore(ctx context.Context, index, member string) (float64, error) {
	var score float64
	found := false
	err := s.view(ctx, "index score", func(tx *bbolt.Tx) error {
		_, members, err := txn{tx: tx}.index(index, false)
		if err != nil || members == nil {
			return err
		}
		if v := members.Get([]byte(member)); v != nil {
			score, found = decodeScore(v), true
		}
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("bolt index score %q/%q: %w", index, member, store.ErrNotFound)
	}
	return score, err
}

// IndexCount returns the number of members with min <= score <= max.
func (s *Store) IndexCount(ctx context.Context, index string, min, max float64) (int, error) {
	var n int
	err := s.view(ctx, "index count", func(tx *bbolt.Tx) error {
		scores, _, err := txn{tx: tx}.index(index, false)
		if err != nil || scores == nil {
			return err
		}
		walk(scores, min, max, false, func([]byte) bool { n++; return true })
		return nil
	})
	return n, err
}

// ClaimDue removes and returns up to limit (0 = all) entries with
// score <= max, lowest first, in one write transaction.
func (s *Store) ClaimDue(ctx context.Context, index string, max float64, limit int) ([]store.IndexEntry, error) {
	var out []store.IndexEntry
	err := s.update(ctx, "claim due", func(t txn) error {
		scores, _, err := t.index(index, false)
		if err != nil || scores == nil {
			return err
		}
		walk(scores, math.Inf(-1), max, false, func(k []byte) bool {
			out = append(out, entryOf(k))
			return limit <= 0 || len(out) < limit
		})
		for _, e := range out {
			if err := t.indexRemove(index, e.Member); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
