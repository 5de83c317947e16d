package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"pingan/internal/store"
)

var errEmptyName = errors.New("empty key or name")

// Get returns the record at key or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (store.Record, error) {
	cctx, cancel, err := s.call(ctx, "get")
	if err != nil {
		return store.Record{}, err
	}
	defer cancel()
	vals, err := s.rdb.HMGet(cctx, s.key(keyRecord, key), "v", "ver").Result()
	if err != nil {
		return store.Record{}, s.fail(ctx, "get", err)
	}
	if len(vals) != 2 || vals[1] == nil {
		return store.Record{}, fmt.Errorf("redis get %q: %w", key, store.ErrNotFound)
	}
	return recordOf(key, vals[0], vals[1])
}

func recordOf(key string, value, version any) (store.Record, error) {
	v, _ := value.(string)
	ver, _ := version.(string)
	n, err := strconv.ParseUint(ver, 10, 64)
	if err != nil {
		return store.Record{}, fmt.Errorf("redis: record %q: bad version %v", key, version)
	}
	return store.Record{Key: key, Value: []byte(v), Version: n}, nil
}

// lexBounds returns ZRANGE BYLEX bounds for keys starting with prefix and
// sorting after `after`.
func lexBounds(prefix, after string) (min, max string) {
	min = "[" + prefix
	if after >= prefix {
		min = "(" + after
	}
	max = "+"
	// The smallest string greater than every string with this prefix.
	p := []byte(prefix)
	for len(p) > 0 && p[len(p)-1] == 0xff {
		p = p[:len(p)-1]
	}
	if len(p) > 0 {
		p[len(p)-1]++
		max = "(" + string(p)
	}
	return min, max
}

// Scan returns live records whose key starts with prefix and sorts after
// `after`, in key order, at most limit (0 = all).
func (s *Store) Scan(ctx context.Context, prefix, after string, limit int) ([]store.Record, error) {
	cctx, cancel, err := s.call(ctx, "scan")
	if err != nil {
		return nil, err
	}
	defer cancel()
	min, max := lexBounds(prefix, after)
	raw, err := scanScript.Run(cctx, s.rdb, []string{s.key(keyRecordSet, "")},
		min, max, max0(limit), s.key(keyRecord, "")).Slice()
	if err != nil {
		return nil, s.fail(ctx, "scan", err)
	}
	out := make([]store.Record, 0, len(raw)/3)
	for i := 0; i+2 < len(raw); i += 3 {
		key, _ := raw[i].(string)
		r, err := recordOf(key, raw[i+1], raw[i+2])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// Put writes value at key if its version equals expect; see store.Store.
func (s *Store) Put(ctx context.Context, key string, value []byte, expect uint64, ttl time.Duration) (uint64, error) {
	res, err := s.apply(ctx, "put", new(store.Batch).PutTTL(key, value, expect, ttl))
	if err != nil {
		return 0, err
	}
	return res.Versions[0], nil
}

// Delete removes key if its version equals expect; see store.Store.
func (s *Store) Delete(ctx context.Context, key string, expect uint64) error {
	_, err := s.apply(ctx, "delete", new(store.Batch).Delete(key, expect))
	return err
}

// Apply performs every operation of b in one script, or none.
func (s *Store) Apply(ctx context.Context, b *store.Batch) (store.Result, error) {
	return s.apply(ctx, "apply", b)
}

func (s *Store) apply(ctx context.Context, op string, b *store.Batch) (store.Result, error) {
	cctx, cancel, err := s.call(ctx, op)
	if err != nil {
		return store.Result{}, err
	}
	defer cancel()
	if len(b.Ops) == 0 {
		return store.Result{}, nil
	}
	keys, args, err := s.encodeBatch(b)
	if err != nil {
		return store.Result{}, fmt.Errorf("redis %s: %w", op, err)
	}
	raw, err := applyScript.Run(cctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return store.Result{}, s.fail(ctx, op, err)
	}
	res, err := decodeResult(b, raw)
	if err != nil {
		return store.Result{}, fmt.Errorf("redis %s: %w", op, err)
	}
	return res, nil
}

func expectArg(v uint64) string {
	if v == store.AnyVersion {
		return "any"
	}
	return strconv.FormatUint(v, 10)
}

func ttlMillis(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return max(1, (ttl + time.Millisecond - 1).Milliseconds())
}

// encodeBatch lays b out as applyScript expects.
func (s *Store) encodeBatch(b *store.Batch) ([]string, []any, error) {
	keys := []string{s.key(keyRecordSet, "")}
	args := []any{len(b.Ops)}
	for i, op := range b.Ops {
		switch op.Kind {
		case store.OpCheck, store.OpPut, store.OpDelete:
			if op.Key == "" {
				return nil, nil, fmt.Errorf("op %d: %w", i, errEmptyName)
			}
			keys = append(keys, s.key(keyRecord, op.Key))
			switch op.Kind {
			case store.OpCheck:
				args = append(args, "C", expectArg(op.Version), op.Key)
			case store.OpPut:
				args = append(args, "P", expectArg(op.Version), op.Key, op.Value, ttlMillis(op.TTL))
			default:
				args = append(args, "D", expectArg(op.Version), op.Key)
			}
		case store.OpIndexAdd:
			if math.IsNaN(op.Score) || op.Index == "" {
				return nil, nil, fmt.Errorf("op %d: index %q: score NaN or empty name", i, op.Index)
			}
			keys = append(keys, s.key(keyIndex, op.Index))
			args = append(args, "A", formatScore(op.Score), op.Member)
		case store.OpIndexRemove:
			keys = append(keys, s.key(keyIndex, op.Index))
			args = append(args, "R", op.Member)
		case store.OpAppend:
			if op.Log == "" {
				return nil, nil, fmt.Errorf("op %d: %w", i, errEmptyName)
			}
			keys = append(keys, s.key(keyLog, op.Log), s.key(keyLogSeq, op.Log))
			args = append(args, "L", op.Value)
		case store.OpNext:
			if op.Seq == "" {
				return nil, nil, fmt.Errorf("op %d: %w", i, errEmptyName)
			}
			keys = append(keys, s.key(keySeq, op.Seq))
			args = append(args, "N")
		default:
			return nil, nil, fmt.Errorf("op %d: unknown kind %d", i, op.Kind)
		}
	}
	return keys, args, nil
}

// decodeResult splits applyScript's reply into a store.Result, or turns a
// conflict reply into a *store.ConflictError.
func decodeResult(b *store.Batch, raw []any) (store.Result, error) {
	if len(raw) == 3 && raw[0] == "conflict" {
		i, _ := raw[1].(int64)
		actual, _ := raw[2].(int64)
		if i < 1 || int(i) > len(b.Ops) {
			return store.Result{}, fmt.Errorf("bad conflict reply %v", raw)
		}
		op := b.Ops[i-1]
		return store.Result{}, fmt.Errorf("op %d: %w", i-1,
			&store.ConflictError{Key: op.Key, Expected: op.Version, Actual: uint64(actual)})
	}
	if len(raw) == 0 || raw[0] != "ok" {
		return store.Result{}, fmt.Errorf("bad apply reply %v", raw)
	}
	var res store.Result
	next := 1
	take := func() (uint64, error) {
		if next >= len(raw) {
			return 0, fmt.Errorf("short apply reply %v", raw)
		}
		v, ok := raw[next].(int64)
		next++
		if !ok {
			return 0, fmt.Errorf("bad apply reply %v", raw)
		}
		return uint64(v), nil
	}
	for _, op := range b.Ops {
		var dst *[]uint64
		switch op.Kind {
		case store.OpPut:
			dst = &res.Versions
		case store.OpAppend:
			dst = &res.Offsets
		case store.OpNext:
			dst = &res.Seqs
		default:
			continue
		}
		v, err := take()
		if err != nil {
			return store.Result{}, err
		}
		*dst = append(*dst, v)
	}
	return res, nil
}
