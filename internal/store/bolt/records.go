package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"pingan/internal/store"
)

// errEmptyName rejects empty keys and names: bbolt cannot store them.
var errEmptyName = errors.New("empty key or name")

// rawRecord is a decoded record; value points into the tx (copy it out).
type rawRecord struct {
	version   uint64
	expiresAt int64 // unix ns, 0 = never
	value     []byte
}

func (r rawRecord) live(now time.Time) bool {
	return r.expiresAt == 0 || now.UnixNano() < r.expiresAt
}

func encodeRecord(version uint64, expiresAt int64, value []byte) []byte {
	buf := make([]byte, 16+len(value))
	binary.BigEndian.PutUint64(buf[0:8], version)
	binary.BigEndian.PutUint64(buf[8:16], uint64(expiresAt))
	copy(buf[16:], value)
	return buf
}

func decodeRecord(b []byte) (rawRecord, error) {
	if len(b) < 16 {
		return rawRecord{}, fmt.Errorf("corrupt record: %d bytes", len(b))
	}
	return rawRecord{
		version:   binary.BigEndian.Uint64(b[0:8]),
		expiresAt: int64(binary.BigEndian.Uint64(b[8:16])),
		value:     b[16:],
	}, nil
}

func expiryKey(expiresAt int64, key []byte) []byte {
	k := make([]byte, 8+len(key))
	binary.BigEndian.PutUint64(k, uint64(expiresAt))
	copy(k[8:], key)
	return k
}

func checkVersion(key string, expect, have uint64) error {
	if expect == store.AnyVersion || expect == have {
		return nil
	}
	return &store.ConflictError{Key: key, Expected: expect, Actual: have}
}

// txn holds one bbolt transaction and the time it judges expiry by.
type txn struct {
	tx  *bbolt.Tx
	now time.Time
}

// record returns the stored record, live or expired.
func (t txn) record(key string) (rawRecord, bool, error) {
	b := t.tx.Bucket(bucketRecords).Get([]byte(key))
	if b == nil {
		return rawRecord{}, false, nil
	}
	r, err := decodeRecord(b)
	if err != nil {
		return rawRecord{}, false, fmt.Errorf("key %q: %w", key, err)
	}
	return r, true, nil
}

// version returns the live version of key (0 = absent or expired).
func (t txn) version(key string) (uint64, error) {
	r, ok, err := t.record(key)
	if err != nil || !ok || !r.live(t.now) {
		return 0, err
	}
	return r.version, nil
}

func (t txn) check(key string, expect uint64) error {
	have, err := t.version(key)
	if err != nil {
		return err
	}
	return checkVersion(key, expect, have)
}

func (t txn) put(key string, value []byte, expect uint64, ttl time.Duration) (uint64, error) {
	if key == "" {
		return 0, errEmptyName
	}
	old, ok, err := t.record(key)
	if err != nil {
		return 0, err
	}
	var have uint64
	if ok && old.live(t.now) {
		have = old.version
	}
	if err := checkVersion(key, expect, have); err != nil {
		return 0, err
	}
	if ok && old.expiresAt != 0 {
		if err := t.tx.Bucket(bucketExpiry).Delete(expiryKey(old.expiresAt, []byte(key))); err != nil {
			return 0, err
		}
	}
	var expiresAt int64
	if ttl > 0 {
		expiresAt = t.now.Add(ttl).UnixNano()
		if err := t.tx.Bucket(bucketExpiry).Put(expiryKey(expiresAt, []byte(key)), nil); err != nil {
			return 0, err
		}
	}
	if err := t.tx.Bucket(bucketRecords).Put([]byte(key), encodeRecord(have+1, expiresAt, value)); err != nil {
		return 0, err
	}
	return have + 1, nil
}

func (t txn) del(key string, expect uint64) error {
	old, ok, err := t.record(key)
	if err != nil {
		return err
	}
	var have uint64
	if ok && old.live(t.now) {
		have = old.version
	}
	if err := checkVersion(key, expect, have); err != nil {
		return err
	}
	if !ok {
		return nil
	}
	return t.remove(key, old)
}

// remove deletes a record and its expiry entry.
func (t txn) remove(key string, r rawRecord) error {
	if r.expiresAt != 0 {
		if err := t.tx.Bucket(bucketExpiry).Delete(expiryKey(r.expiresAt, []byte(key))); err != nil {
			return err
		}
	}
	return t.tx.Bucket(bucketRecords).Delete([]byte(key))
}

// purgeExpired deletes up to limit expired records and reports how many.
func (t txn) purgeExpired(limit int) (int, error) {
	var due []string
	now := t.now.UnixNano()
	c := t.tx.Bucket(bucketExpiry).Cursor()
	for k, _ := c.First(); k != nil && len(due) < limit; k, _ = c.Next() {
		if len(k) < 8 || int64(binary.BigEndian.Uint64(k[:8])) > now {
			break
		}
		due = append(due, string(k[8:]))
	}
	for _, key := range due {
		if err := t.purgeKey(key); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// purgeKey deletes key if it is stored and expired.
func (t txn) purgeKey(key string) error {
	r, ok, err := t.record(key)
	if err != nil || !ok || r.live(t.now) {
		return err
	}
	return t.remove(key, r)
}

// Get returns the live record at key or store.ErrNotFound. An expired record
// found on the way is purged after the read transaction ends.
func (s *Store) Get(ctx context.Context, key string) (store.Record, error) {
	var rec store.Record
	var expired bool
	err := s.view(ctx, "get", func(tx *bbolt.Tx) error {
		t := txn{tx: tx, now: s.now()}
		r, ok, err := t.record(key)
		if err != nil {
			return err
		}
		if !ok || !r.live(t.now) {
			expired = ok
			return nil
		}
		rec = store.Record{Key: key, Value: bytes.Clone(r.value), Version: r.version}
		return nil
	})
	if err != nil {
		return store.Record{}, err
	}
	if expired {
		_ = s.update(ctx, "purge", func(t txn) error { return t.purgeKey(key) })
	}
	if rec.Version == 0 {
		return store.Record{}, fmt.Errorf("bolt get %q: %w", key, store.ErrNotFound)
	}
	return rec, nil
}

// Scan returns live records whose key starts with prefix and sorts after
// `after`, in key order, at most limit (0 = all).
func (s *Store) Scan(ctx context.Context, prefix, after string, limit int) ([]store.Record, error) {
	var out []store.Record
	err := s.view(ctx, "scan", func(tx *bbolt.Tx) error {
		now := s.now()
		start := prefix
		if after >= prefix {
			start = after
		}
		c := tx.Bucket(bucketRecords).Cursor()
		for k, v := c.Seek([]byte(start)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
			if string(k) == after {
				continue
			}
			r, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			if !r.live(now) {
				continue
			}
			out = append(out, store.Record{Key: string(k), Value: bytes.Clone(r.value), Version: r.version})
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// Put writes value at key if its version equals expect; see store.Store.
func (s *Store) Put(ctx context.Context, key string, value []byte, expect uint64, ttl time.Duration) (uint64, error) {
	var v uint64
	err := s.update(ctx, "put", func(t txn) error {
		if err := t.checkOp(store.Op{Kind: store.OpPut, Key: key, Value: value, Version: expect}, nil); err != nil {
			return reject(err)
		}
		var err error
		v, err = t.put(key, value, expect, ttl)
		return err
	})
	return v, err
}

// Delete removes key if its version equals expect; see store.Store.
func (s *Store) Delete(ctx context.Context, key string, expect uint64) error {
	return s.update(ctx, "delete", func(t txn) error {
		if err := t.checkOp(store.Op{Kind: store.OpDelete, Key: key, Version: expect}, nil); err != nil {
			return reject(err)
		}
		return t.del(key, expect)
	})
}
