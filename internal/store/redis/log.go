package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"pingan/internal/store"
)

// offsetOf parses a stream entry ID "<offset>-0".
func offsetOf(id string) (uint64, error) {
	head, _, _ := strings.Cut(id, "-")
	off, err := strconv.ParseUint(head, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad log entry id %q", id)
	}
	return off, nil
}

// Append adds value to log and returns its offset (the first is 1).
func (s *Store) Append(ctx context.Context, log string, value []byte) (uint64, error) {
	res, err := s.apply(ctx, "append", new(store.Batch).Append(log, value))
	if err != nil {
		return 0, err
	}
	return res.Offsets[0], nil
}

// ReadLog returns up to limit (0 = all) entries with offset >= from.
func (s *Store) ReadLog(ctx context.Context, log string, from uint64, limit int) ([]store.LogEntry, error) {
	cctx, cancel, err := s.call(ctx, "read log")
	if err != nil {
		return nil, err
	}
	defer cancel()
	key, start := s.key(keyLog, log), strconv.FormatUint(from, 10)+"-0"
	var msgs []goredis.XMessage
	if limit > 0 {
		msgs, err = s.rdb.XRangeN(cctx, key, start, "+", int64(limit)).Result()
	} else {
		msgs, err = s.rdb.XRange(cctx, key, start, "+").Result()
	}
	if err != nil {
		return nil, s.fail(ctx, "read log", err)
	}
	out := make([]store.LogEntry, len(msgs))
	for i, m := range msgs {
		off, err := offsetOf(m.ID)
		if err != nil {
			return nil, fmt.Errorf("redis read log %q: %w", log, err)
		}
		v, _ := m.Values["v"].(string)
		out[i] = store.LogEntry{Offset: off, Value: []byte(v)}
	}
	return out, nil
}

// LogBounds returns the first and last offsets held (0, 0 when none).
func (s *Store) LogBounds(ctx context.Context, log string) (first, last uint64, err error) {
	cctx, cancel, err := s.call(ctx, "log bounds")
	if err != nil {
		return 0, 0, err
	}
	defer cancel()
	key := s.key(keyLog, log)
	var head, tail *goredis.XMessageSliceCmd
	_, err = s.rdb.TxPipelined(cctx, func(p goredis.Pipeliner) error {
		head = p.XRangeN(cctx, key, "-", "+", 1)
		tail = p.XRevRangeN(cctx, key, "+", "-", 1)
		return nil
	})
	if err != nil {
		return 0, 0, s.fail(ctx, "log bounds", err)
	}
	if len(head.Val()) == 0 || len(tail.Val()) == 0 {
		return 0, 0, nil
	}
	if first, err = offsetOf(head.Val()[0].ID); err != nil {
		return 0, 0, fmt.Errorf("redis log bounds %q: %w", log, err)
	}
	if last, err = offsetOf(tail.Val()[0].ID); err != nil {
		return 0, 0, fmt.Errorf("redis log bounds %q: %w", log, err)
	}
	return first, last, nil
}

// TrimLog drops entries with offset < before.
func (s *Store) TrimLog(ctx context.Context, log string, before uint64) error {
	cctx, cancel, err := s.call(ctx, "trim log")
	if err != nil {
		return err
	}
	defer cancel()
	if before <= 1 {
		return nil
	}
	err = s.rdb.XTrimMinID(cctx, s.key(keyLog, log), strconv.FormatUint(before, 10)+"-0").Err()
	return s.fail(ctx, "trim log", err)
}

// Next increments and returns the named sequence (first value 1).
func (s *Store) Next(ctx context.Context, seq string) (uint64, error) {
	cctx, cancel, err := s.call(ctx, "next")
	if err != nil {
		return 0, err
	}
	defer cancel()
	if seq == "" {
		return 0, fmt.Errorf("redis next: %w", errEmptyName)
	}
	v, err := s.rdb.Incr(cctx, s.key(keySeq, seq)).Result()
	if err != nil {
		return 0, s.fail(ctx, "next", err)
	}
	return uint64(v), nil
}
