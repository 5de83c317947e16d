package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"pingan/internal/auth"
	"pingan/internal/store"
)

// Snapshot is a frozen month: the statistics facts of every case created in
// it, as they were when it was taken. Stats for exactly that month read them.
type Snapshot struct {
	Month    string     `json:"month"`
	Taken    time.Time  `json:"taken"`
	Actor    string     `json:"actor"`
	Cases    int        `json:"cases"`
	Existing bool       `json:"existing,omitempty"` // never stored: the month was already frozen
	Facts    []caseFact `json:"facts,omitempty"`
}

var snapshotTakers = []auth.Role{auth.RoleAdmin, auth.RoleLeader}

// Snapshot freezes a month ("2026-11", in the center's zone) for the
// bulletin. Freezing an already frozen month returns the first snapshot.
func (s *Service) Snapshot(ctx context.Context, p auth.Principal, month string) (*Snapshot, error) {
	if !p.Is(snapshotTakers...) {
		return nil, ErrForbidden
	}
	from, to, err := s.monthBounds(month)
	if err != nil {
		return nil, err
	}
	facts, err := s.liveFacts(ctx, from, to)
	if err != nil {
		return nil, err
	}
	now := s.now()
	snap := &Snapshot{Month: month, Taken: now, Actor: actorOf(p), Cases: len(facts), Facts: facts}
	b := new(store.Batch).Put(keySnapshot+month, mustJSON(snap), 0)
	ev := Event{Type: EventSnapshot, Time: now, Actor: actorOf(p), Data: map[string]any{"month": month, "cases": len(facts)}}
	_, err = s.commit(ctx, b, ev)
	if errors.Is(err, store.ErrConflict) {
		old, err := s.loadSnapshot(ctx, month)
		if err != nil {
			return nil, err
		}
		old.Existing, old.Facts = true, nil
		return old, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dispatch: snapshot %s: %w", month, err)
	}
	snap.Facts = nil
	return snap, nil
}

func (s *Service) loadSnapshot(ctx context.Context, month string) (*Snapshot, error) {
	rec, err := s.st.Get(ctx, keySnapshot+month)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dispatch: load snapshot %s: %w", month, err)
	}
	snap := new(Snapshot)
	if err := json.Unmarshal(rec.Value, snap); err != nil {
		return nil, fmt.Errorf("dispatch: decode snapshot %s: %w", month, err)
	}
	return snap, nil
}

// snapshotFacts returns the frozen facts when [q.From, q.To) is exactly a
// snapshotted month.
func (s *Service) snapshotFacts(ctx context.Context, q StatsQuery) ([]caseFact, bool, error) {
	month := q.From.In(s.loc).Format("2006-01")
	from, to, err := s.monthBounds(month)
	if err != nil || !from.Equal(q.From) || !to.Equal(q.To) {
		return nil, false, nil
	}
	snap, err := s.loadSnapshot(ctx, month)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return snap.Facts, true, nil
}

// monthBounds is [first instant of month, first of next) in the center's zone, as UTC.
func (s *Service) monthBounds(month string) (time.Time, time.Time, error) {
	t, err := time.ParseInLocation("2006-01", month, s.loc)
	if err != nil {
		return time.Time{}, time.Time{}, invalid("month", "want YYYY-MM")
	}
	return t.UTC(), t.AddDate(0, 1, 0).UTC(), nil
}
