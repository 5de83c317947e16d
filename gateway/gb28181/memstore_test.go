package gb28181

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"pingan/internal/store"
)

// memStore is an in-memory store.Store for this package's tests (records,
// indexes, sequences; logs and topics minimal). The real backends run the
// shared conformance suite; this one only has to be faithful enough for
// the registry.
type memStore struct {
	mu   sync.Mutex
	recs map[string]store.Record
	idx  map[string]map[string]float64
	seqs map[string]uint64
	logs map[string][][]byte
}

func newMemStore() *memStore {
	return &memStore{
		recs: map[string]store.Record{}, idx: map[string]map[string]float64{},
		seqs: map[string]uint64{}, logs: map[string][][]byte{},
	}
}

func (m *memStore) Get(_ context.Context, key string) (store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[key]
	if !ok {
		return store.Record{}, store.ErrNotFound
	}
	r.Value = append([]byte(nil), r.Value...)
	return r, nil
}

func (m *memStore) Scan(_ context.Context, prefix, after string, limit int) ([]store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Record
	for k, r := range m.recs {
		if strings.HasPrefix(k, prefix) && k > after {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memStore) check(key string, expect uint64) error {
	if expect == store.AnyVersion {
		return nil
	}
	if have := m.recs[key].Version; have != expect {
		return &store.ConflictError{Key: key, Expected: expect, Actual: have}
	}
	return nil
}

func (m *memStore) Put(ctx context.Context, key string, value []byte, expect uint64, _ time.Duration) (uint64, error) {
	res, err := m.Apply(ctx, new(store.Batch).Put(key, value, expect))
	if err != nil {
		return 0, err
	}
	return res.Versions[0], nil
}

func (m *memStore) Delete(ctx context.Context, key string, expect uint64) error {
	_, err := m.Apply(ctx, new(store.Batch).Delete(key, expect))
	return err
}

func (m *memStore) Apply(_ context.Context, b *store.Batch) (store.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Check every precondition against the state the batch would see.
	shadow := map[string]uint64{}
	ver := func(k string) uint64 {
		if v, ok := shadow[k]; ok {
			return v
		}
		return m.recs[k].Version
	}
	for _, op := range b.Ops {
		switch op.Kind {
		case store.OpCheck, store.OpPut, store.OpDelete:
			if op.Version != store.AnyVersion && ver(op.Key) != op.Version {
				return store.Result{}, &store.ConflictError{Key: op.Key, Expected: op.Version, Actual: ver(op.Key)}
			}
			if op.Kind == store.OpPut {
				shadow[op.Key] = ver(op.Key) + 1
			} else if op.Kind == store.OpDelete {
				shadow[op.Key] = 0
			}
		}
	}
	var res store.Result
	for _, op := range b.Ops {
		switch op.Kind {
		case store.OpPut:
			v := m.recs[op.Key].Version + 1
			m.recs[op.Key] = store.Record{Key: op.Key, Value: append([]byte(nil), op.Value...), Version: v}
			res.Versions = append(res.Versions, v)
		case store.OpDelete:
			delete(m.recs, op.Key)
		case store.OpIndexAdd:
			if m.idx[op.Index] == nil {
				m.idx[op.Index] = map[string]float64{}
			}
			m.idx[op.Index][op.Member] = op.Score
		case store.OpIndexRemove:
			delete(m.idx[op.Index], op.Member)
		case store.OpAppend:
			m.logs[op.Log] = append(m.logs[op.Log], op.Value)
			res.Offsets = append(res.Offsets, uint64(len(m.logs[op.Log])))
		case store.OpNext:
			m.seqs[op.Seq]++
			res.Seqs = append(res.Seqs, m.seqs[op.Seq])
		}
	}
	return res, nil
}

func (m *memStore) sorted(index string, min, max float64) []store.IndexEntry {
	var out []store.IndexEntry
	for mem, sc := range m.idx[index] {
		if sc >= min && sc <= max {
			out = append(out, store.IndexEntry{Member: mem, Score: sc})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score < out[j].Score
		}
		return out[i].Member < out[j].Member
	})
	return out
}

func (m *memStore) IndexRange(_ context.Context, index string, r store.Range) ([]store.IndexEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.sorted(index, r.Min, r.Max)
	if r.Rev {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	if r.Offset > 0 {
		out = out[min(r.Offset, len(out)):]
	}
	if r.Limit > 0 && len(out) > r.Limit {
		out = out[:r.Limit]
	}
	return out, nil
}

func (m *memStore) IndexScore(_ context.Context, index, member string) (float64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc, ok := m.idx[index][member]
	if !ok {
		return 0, store.ErrNotFound
	}
	return sc, nil
}

func (m *memStore) IndexCount(_ context.Context, index string, min, max float64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sorted(index, min, max)), nil
}

func (m *memStore) ClaimDue(_ context.Context, index string, max float64, limit int) ([]store.IndexEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.sorted(index, -1e300, max)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	for _, e := range out {
		delete(m.idx[index], e.Member)
	}
	return out, nil
}

func (m *memStore) Append(ctx context.Context, log string, value []byte) (uint64, error) {
	res, err := m.Apply(ctx, new(store.Batch).Append(log, value))
	if err != nil {
		return 0, err
	}
	return res.Offsets[0], nil
}

func (m *memStore) ReadLog(_ context.Context, log string, from uint64, limit int) ([]store.LogEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.LogEntry
	for i, v := range m.logs[log] {
		if off := uint64(i + 1); off >= from && (limit <= 0 || len(out) < limit) {
			out = append(out, store.LogEntry{Offset: off, Value: v})
		}
	}
	return out, nil
}

func (m *memStore) LogBounds(_ context.Context, log string) (uint64, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.logs[log]); n > 0 {
		return 1, uint64(n), nil
	}
	return 0, 0, nil
}

func (m *memStore) TrimLog(context.Context, string, uint64) error { return nil }

func (m *memStore) Next(ctx context.Context, seq string) (uint64, error) {
	res, err := m.Apply(ctx, new(store.Batch).Next(seq))
	if err != nil {
		return 0, err
	}
	return res.Seqs[0], nil
}

func (m *memStore) Publish(context.Context, string, []byte) error { return nil }

func (m *memStore) Subscribe(ctx context.Context, _ string) (<-chan []byte, error) {
	ch := make(chan []byte)
	context.AfterFunc(ctx, func() { close(ch) })
	return ch, nil
}

func (m *memStore) Ping(context.Context) error { return nil }
func (m *memStore) Close() error               { return nil }

var _ store.Store = (*memStore)(nil)
