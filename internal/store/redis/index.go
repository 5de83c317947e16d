package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"pingan/internal/store"
)

// formatScore writes a score the way ZADD and ZRANGE BYSCORE read it.
func formatScore(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	default:
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
}

// IndexRange lists entries of a sorted index; see store.Range.
func (s *Store) IndexRange(ctx context.Context, index string, r store.Range) ([]store.IndexEntry, error) {
	cctx, cancel, err := s.call(ctx, "index range")
	if err != nil {
		return nil, err
	}
	defer cancel()
	if math.IsNaN(r.Min) || math.IsNaN(r.Max) {
		return nil, nil
	}
	args := goredis.ZRangeArgs{
		Key:     s.key(keyIndex, index),
		Start:   formatScore(r.Min),
		Stop:    formatScore(r.Max),
		ByScore: true,
		Rev:     r.Rev,
	}
	if r.Rev {
		args.Start, args.Stop = args.Stop, args.Start
	}
	if r.Offset > 0 || r.Limit > 0 {
		args.Offset, args.Count = int64(max0(r.Offset)), -1
		if r.Limit > 0 {
			args.Count = int64(r.Limit)
		}
	}
	zs, err := s.rdb.ZRangeArgsWithScores(cctx, args).Result()
	if err != nil {
		return nil, s.fail(ctx, "index range", err)
	}
	out := make([]store.IndexEntry, len(zs))
	for i, z := range zs {
		m, _ := z.Member.(string)
		out[i] = store.IndexEntry{Member: m, Score: z.Score}
	}
	return out, nil
}

// IndexScore returns member's score or store.ErrNotFound.
func (s *Store) IndexScore(ctx context.Context, index, member string) (float64, error) {
	cctx, cancel, err := s.call(ctx, "index score")
	if err != nil {
		return 0, err
	}
	defer cancel()
	score, err := s.rdb.ZScore(cctx, s.key(keyIndex, index), member).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, fmt.Errorf("redis index score %q/%q: %w", index, member, store.ErrNotFound)
	}
	if err != nil {
		return 0, s.fail(ctx, "index score", err)
	}
	return score, nil
}

// IndexCount returns the number of members with min <= score <= max.
func (s *Store) IndexCount(ctx context.Context, index string, min, max float64) (int, error) {
	cctx, cancel, err := s.call(ctx, "index count")
	if err != nil {
		return 0, err
	}
	defer cancel()
	n, err := s.rdb.ZCount(cctx, s.key(keyIndex, index), formatScore(min), formatScore(max)).Result()
	if err != nil {
		return 0, s.fail(ctx, "index count", err)
	}
	return int(n), nil
}

// ClaimDue removes and returns up to limit (0 = all) entries with
// score <= max, lowest first, in one script.
func (s *Store) ClaimDue(ctx context.Context, index string, max float64, limit int) ([]store.IndexEntry, error) {
	cctx, cancel, err := s.call(ctx, "claim due")
	if err != nil {
		return nil, err
	}
	defer cancel()
	raw, err := claimScript.Run(cctx, s.rdb, []string{s.key(keyIndex, index)}, formatScore(max), max0(limit)).Slice()
	if err != nil {
		return nil, s.fail(ctx, "claim due", err)
	}
	out := make([]store.IndexEntry, 0, len(raw)/2)
	for i := 0; i+1 < len(raw); i += 2 {
		m, _ := raw[i].(string)
		sc, _ := raw[i+1].(string)
		score, err := strconv.ParseFloat(sc, 64)
		if err != nil {
			return nil, fmt.Errorf("redis claim due: member %q: bad score %q", m, sc)
		}
		out = append(out, store.IndexEntry{Member: m, Score: score})
	}
	return out, nil
}
