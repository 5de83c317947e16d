package auth_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"pingan/internal/store"
)

// prefixStore puts every key, index, log, sequence and topic of a test
// under a unique prefix, so runs sharing one Redis database never see each
// other's data. Cleanup deletes the records and trims the logs it used.
type prefixStore struct {
	store.Store
	p    string
	mu   sync.Mutex
	logs map[string]bool
}

func newPrefixStore(t *testing.T, st store.Store) *prefixStore {
	ps := &prefixStore{Store: st, p: fmt.Sprintf("authtest/%d/", time.Now().UnixNano()), logs: map[string]bool{}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		recs, _ := st.Scan(ctx, ps.p, "", 0)
		for _, r := range recs {
			_ = st.Delete(ctx, r.Key, store.AnyVersion)
		}
		for l := range ps.logs {
			if _, last, err := st.LogBounds(ctx, l); err == nil {
				_ = st.TrimLog(ctx, l, last+1)
			}
		}
	})
	return ps
}

func (s *prefixStore) Get(ctx context.Context, key string) (store.Record, error) {
	r, err := s.Store.Get(ctx, s.p+key)
	r.Key = strings.TrimPrefix(r.Key, s.p)
	return r, err
}

func (s *prefixStore) Scan(ctx context.Context, prefix, after string, limit int) ([]store.Record, error) {
	if after != "" {
		after = s.p + after
	}
	recs, err := s.Store.Scan(ctx, s.p+prefix, after, limit)
	for i := range recs {
		recs[i].Key = strings.TrimPrefix(recs[i].Key, s.p)
	}
	return recs, err
}

func (s *prefixStore) Put(ctx context.Context, key string, v []byte, expect uint64, ttl time.Duration) (uint64, error) {
	return s.Store.Put(ctx, s.p+key, v, expect, ttl)
}

func (s *prefixStore) Delete(ctx context.Context, key string, expect uint64) error {
	return s.Store.Delete(ctx, s.p+key, expect)
}

func (s *prefixStore) Apply(ctx context.Context, b *store.Batch) (store.Result, error) {
	nb := &store.Batch{Ops: make([]store.Op, len(b.Ops))}
	for i, op := range b.Ops {
		for _, f := range []*string{&op.Key, &op.Index, &op.Log, &op.Seq} {
			if *f != "" {
				*f = s.p + *f
			}
		}
		nb.Ops[i] = op
	}
	return s.Store.Apply(ctx, nb)
}

func (s *prefixStore) IndexRange(ctx context.Context, index string, r store.Range) ([]store.IndexEntry, error) {
	return s.Store.IndexRange(ctx, s.p+index, r)
}

func (s *prefixStore) IndexScore(ctx context.Context, index, member string) (float64, error) {
	return s.Store.IndexScore(ctx, s.p+index, member)
}

func (s *prefixStore) IndexCount(ctx context.Context, index string, lo, hi float64) (int, error) {
	return s.Store.IndexCount(ctx, s.p+index, lo, hi)
}

func (s *prefixStore) ClaimDue(ctx context.Context, index string, hi float64, limit int) ([]store.IndexEntry, error) {
	return s.Store.ClaimDue(ctx, s.p+index, hi, limit)
}

func (s *prefixStore) Append(ctx context.Context, log string, v []byte) (uint64, error) {
	s.mu.Lock()
	s.logs[s.p+log] = true
	s.mu.Unlock()
	return s.Store.Append(ctx, s.p+log, v)
}

func (s *prefixStore) ReadLog(ctx context.Context, log string, from uint64, limit int) ([]store.LogEntry, error) {
	return s.Store.ReadLog(ctx, s.p+log, from, limit)
}

func (s *prefixStore) LogBounds(ctx context.Context, log string) (uint64, uint64, error) {
	return s.Store.LogBounds(ctx, s.p+log)
}

func (s *prefixStore) TrimLog(ctx context.Context, log string, before uint64) error {
	return s.Store.TrimLog(ctx, s.p+log, before)
}

func (s *prefixStore) Next(ctx context.Context, seq string) (uint64, error) {
	return s.Store.Next(ctx, s.p+seq)
}

func (s *prefixStore) Publish(ctx context.Context, topic string, msg []byte) error {
	return s.Store.Publish(ctx, s.p+topic, msg)
}

func (s *prefixStore) Subscribe(ctx context.Context, topic string) (<-chan []byte, error) {
	return s.Store.Subscribe(ctx, s.p+topic)
}
