package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"pingan/dispatch"
	"pingan/internal/store"
	"pingan/media"
)

// Store layout of recording metadata.
const (
	recordingKeyPrefix = "rec/"      // record rec/{id}: RecordingMeta as JSON
	recordingIndex     = "rec:start" // index: member id, score start time in unix ms
)

// Recording states.
const (
	RecordingRunning = "recording"
	RecordingDone    = "done"
	RecordingFailed  = "failed"
)

// RecordingMeta is what the hub keeps about a recording.
type RecordingMeta struct {
	ID     string          `json:"id"`
	Stream media.StreamID  `json:"stream,omitempty"`
	Room   string          `json:"room,omitempty"`
	Case   dispatch.CaseID `json:"case,omitempty"`
	By     string          `json:"by"`   // username that started it
	Node   string          `json:"node"` // the node writing the file
	Path   string          `json:"path"` // the file, on Node
	Start  time.Time       `json:"start"`
	End    time.Time       `json:"end,omitzero"`
	// Duration is the media time in the file; Size its bytes.
	Duration time.Duration `json:"duration"`
	Size     int64         `json:"size"`
	State    string        `json:"state"` // RecordingRunning, RecordingDone or RecordingFailed
	Error    string        `json:"error,omitempty"`
	// Parts are, for a room recording (Room set, Stream empty, no file),
	// the ids of its per-stream recordings, in start order; Streams their
	// streams (a stream republished during the recording appears once).
	Parts   []string         `json:"parts,omitempty"`
	Streams []media.StreamID `json:"streams,omitempty"`
}

// IsRoom reports whether m is a room recording: a group of per-stream
// parts with no file of its own.
func (m RecordingMeta) IsRoom() bool { return m.Room != "" && m.Stream == "" }

// RecordingStore keeps RecordingMeta in the hub's store: one record per
// recording and an index by start time for listings.
type RecordingStore struct {
	st store.Store
}

// NewRecordingStore keeps recording metadata in st.
func NewRecordingStore(st store.Store) *RecordingStore { return &RecordingStore{st: st} }

// Create stores a new recording; its id must be new.
func (s *RecordingStore) Create(ctx context.Context, m RecordingMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("recordings: encode %s: %w", m.ID, err)
	}
	batch := new(store.Batch).
		Put(recordingKeyPrefix+m.ID, b, 0).
		IndexAdd(recordingIndex, m.ID, float64(m.Start.UnixMilli()))
	if _, err := s.st.Apply(ctx, batch); err != nil {
		return fmt.Errorf("recordings: create %s: %w", m.ID, err)
	}
	return nil
}

// Update overwrites a stored recording.
func (s *RecordingStore) Update(ctx context.Context, m RecordingMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("recordings: encode %s: %w", m.ID, err)
	}
	if _, err := s.st.Put(ctx, recordingKeyPrefix+m.ID, b, store.AnyVersion, 0); err != nil {
		return fmt.Errorf("recordings: update %s: %w", m.ID, err)
	}
	return nil
}

// Get returns a recording or store.ErrNotFound.
func (s *RecordingStore) Get(ctx context.Context, id string) (RecordingMeta, error) {
	rec, err := s.st.Get(ctx, recordingKeyPrefix+id)
	if err != nil {
		return RecordingMeta{}, fmt.Errorf("recordings: get %s: %w", id, err)
	}
	var m RecordingMeta
	if err := json.Unmarshal(rec.Value, &m); err != nil {
		return RecordingMeta{}, fmt.Errorf("recordings: decode %s: %w", id, err)
	}
	return m, nil
}

// List returns recordings that started before `before` (zero = now and
// later too), newest first, skipping those keep rejects, at most limit.
func (s *RecordingStore) List(ctx context.Context, before time.Time, limit int, keep func(RecordingMeta) bool) ([]RecordingMeta, error) {
	hi := math.Inf(1)
	if !before.IsZero() {
		hi = float64(before.UnixMilli() - 1)
	}
	batch := max(limit, 50)
	var out []RecordingMeta
	for offset := 0; len(out) < limit; offset += batch {
		entries, err := s.st.IndexRange(ctx, recordingIndex, store.Range{Min: math.Inf(-1), Max: hi, Offset: offset, Limit: batch, Rev: true})
		if err != nil {
			return nil, fmt.Errorf("recordings: list: %w", err)
		}
		for _, e := range entries {
			m, err := s.Get(ctx, e.Member)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if keep == nil || keep(m) {
				out = append(out, m)
				if len(out) == limit {
					break
				}
			}
		}
		if len(entries) < batch {
			break
		}
	}
	return out, nil
}

// Running returns the recordings still marked running on node, for recovery
// after a crash.
func (s *RecordingStore) Running(ctx context.Context, node string) ([]RecordingMeta, error) {
	var out []RecordingMeta
	after := ""
	for {
		recs, err := s.st.Scan(ctx, recordingKeyPrefix, after, 500)
		if err != nil {
			return nil, fmt.Errorf("recordings: scan: %w", err)
		}
		for _, r := range recs {
			var m RecordingMeta
			if json.Unmarshal(r.Value, &m) == nil && m.State == RecordingRunning && m.Node == node {
				out = append(out, m)
			}
		}
		if len(recs) < 500 {
			return out, nil
		}
		after = recs[len(recs)-1].Key
	}
}
