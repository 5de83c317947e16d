package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"pingan/internal/store"
)

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// logBucket returns the bucket of a named log; nil when absent and create
// is false.
func (t txn) logBucket(name string, create bool) (*bbolt.Bucket, error) {
	root := t.tx.Bucket(bucketLogs)
	if b := root.Bucket([]byte(name)); b != nil || !create {
		return b, nil
	}
	if name == "" {
		return nil, errEmptyName
	}
	return root.CreateBucket([]byte(name))
}

// appendLog adds value to a log; the bucket sequence is the last offset
// ever given, so offsets stay gap-free across trims.
func (t txn) appendLog(name string, value []byte) (uint64, error) {
	b, err := t.logBucket(name, true)
	if err != nil {
		return 0, err
	}
	off, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	return off, b.Put(u64(off), bytes.Clone(value))
}

func (t txn) next(name string) (uint64, error) {
	if name == "" {
		return 0, errEmptyName
	}
	b := t.tx.Bucket(bucketSeqs)
	var v uint64
	if old := b.Get([]byte(name)); len(old) == 8 {
		v = binary.BigEndian.Uint64(old)
	}
	v++
	return v, b.Put([]byte(name), u64(v))
}

// Append adds value to log and returns its offset (the first is 1).
func (s *Store) Append(ctx context.Context, log string, value []byte) (uint64, error) {
	var off uint64
	err := s.update(ctx, "append", func(t txn) error {
		if err := t.checkOp(store.Op{Kind: store.OpAppend, Log: log, Value: value}, nil); err != nil {
			return reject(err)
		}
		var err error
		off, err = t.appendLog(log, value)
		return err
	})
	return off, err
}

// ReadLog returns up to limit (0 = all) entries with offset >= from.
func (s *Store) ReadLog(ctx context.Context, log string, from uint64, limit int) ([]store.LogEntry, error) {
	var out []store.LogEntry
	err := s.view(ctx, "read log", func(tx *bbolt.Tx) error {
		b, err := txn{tx: tx}.logBucket(log, false)
		if err != nil || b == nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.Seek(u64(from)); k != nil; k, v = c.Next() {
			out = append(out, store.LogEntry{Offset: binary.BigEndian.Uint64(k), Value: bytes.Clone(v)})
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// LogBounds returns the first and last offsets held (0, 0 when none).
func (s *Store) LogBounds(ctx context.Context, log string) (first, last uint64, err error) {
	err = s.view(ctx, "log bounds", func(tx *bbolt.Tx) error {
		b, err := txn{tx: tx}.logBucket(log, false)
		if err != nil || b == nil {
			return err
		}
		c := b.Cursor()
		if k, _ := c.First(); k != nil {
			first = binary.BigEndian.Uint64(k)
		}
		if k, _ := c.Last(); k != nil {
			last = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return first, last, err
}

// TrimLog drops entries with offset < before.
func (s *Store) TrimLog(ctx context.Context, log string, before uint64) error {
	return s.update(ctx, "trim log", func(t txn) error {
		b, err := t.logBucket(log, false)
		if err != nil || b == nil {
			return err
		}
		var dead [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) < before; k, _ = c.Next() {
			dead = append(dead, bytes.Clone(k))
		}
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// Next increments and returns the named sequence (first value 1).
func (s *Store) Next(ctx context.Context, seq string) (uint64, error) {
	var v uint64
	err := s.update(ctx, "next", func(t txn) error {
		if err := t.checkOp(store.Op{Kind: store.OpNext, Seq: seq}, nil); err != nil {
			return reject(err)
		}
		var err error
		v, err = t.next(seq)
		return err
	})
	return v, err
}

// Apply performs every operation of b in one write transaction, or none:
// the whole batch is validated before its first write.
func (s *Store) Apply(ctx context.Context, b *store.Batch) (store.Result, error) {
	var res store.Result
	err := s.update(ctx, "apply", func(t txn) error {
		if err := t.validate(b.Ops); err != nil {
			return reject(err)
		}
		for i, op := range b.Ops {
			if err := t.apply(op, &res); err != nil {
				return fmt.Errorf("op %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return store.Result{}, err
	}
	return res, nil
}

func (t txn) apply(op store.Op, res *store.Result) error {
	switch op.Kind {
	case store.OpCheck:
		return t.check(op.Key, op.Version)
	case store.OpPut:
		v, err := t.put(op.Key, op.Value, op.Version, op.TTL)
		res.Versions = append(res.Versions, v)
		return err
	case store.OpDelete:
		return t.del(op.Key, op.Version)
	case store.OpIndexAdd:
		return t.indexAdd(op.Index, op.Member, op.Score)
	case store.OpIndexRemove:
		return t.indexRemove(op.Index, op.Member)
	case store.OpAppend:
		off, err := t.appendLog(op.Log, op.Value)
		res.Offsets = append(res.Offsets, off)
		return err
	case store.OpNext:
		v, err := t.next(op.Seq)
		res.Seqs = append(res.Seqs, v)
		return err
	default:
		return fmt.Errorf("unknown op kind %d", op.Kind)
	}
}
