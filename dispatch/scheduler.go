package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"pingan/internal/store"
)

// claimBatch is how many due thresholds one ClaimDue takes.
const claimBatch = 100

// Run is the deadline scheduler: every poll interval (100 ms) it claims the
// due entries of the sorted index of next colour thresholds with
// store.ClaimDue — so several hubs on one Redis never fire one threshold
// twice — recomputes each case's colour, writes the case with a case.colour
// event (and a case.reminder 催办 event when it turns red) in one Apply, and
// schedules the next threshold. It first re-adds thresholds lost by a crash
// between a claim and its write. Run returns nil when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if err := s.repair(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("deadline repair", "err", err)
	}
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		s.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// tick claims and fires every due threshold.
func (s *Service) tick(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := s.st.ClaimDue(ctx, idxDeadlines, ms(s.now()), claimBatch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("claim due deadlines", "err", err)
			}
			return
		}
		for _, e := range due {
			if err := s.fire(ctx, CaseID(e.Member)); err != nil && ctx.Err() == nil {
				s.log.Warn("deadline colour", "case", e.Member, "err", err)
				s.reschedule(ctx, e) // retried on a later tick
			}
		}
		if len(due) < claimBatch {
			return
		}
	}
}

// reschedule puts a claimed entry back after a failed fire.
func (s *Service) reschedule(ctx context.Context, e store.IndexEntry) {
	if _, err := s.st.Apply(ctx, new(store.Batch).IndexAdd(idxDeadlines, e.Member, e.Score)); err != nil {
		s.log.Error("deadline entry lost until restart", "case", e.Member, "err", err)
	}
}

// fire recomputes one case's colour; CAS conflicts with concurrent
// transitions are retried on a fresh read.
func (s *Service) fire(ctx context.Context, code CaseID) error {
	for attempt := 0; attempt < 8; attempt++ {
		c, err := s.loadCase(ctx, code)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		b, evs := s.colourBatch(c, s.now())
		_, err = s.commit(ctx, b, evs...)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("dispatch: case %s kept changing", code)
}

// colourBatch builds the write for a case whose threshold is due.
func (s *Service) colourBatch(c *Case, now time.Time) (*store.Batch, []Event) {
	key := keyCase + string(c.Code)
	b := new(store.Batch)
	var evs []Event
	if col := s.colourAt(c, now); col != c.Colour {
		old := c.Colour
		s.setColour(c, col)
		c.Updated = now
		b.Put(key, mustJSON(c), c.Version)
		ev := s.caseEvent(EventCaseColour, c, "scheduler", now)
		ev.Data = map[string]any{"from": old, "stage": c.Stage, "deadline": c.Deadline}
		evs = append(evs, ev)
		if col == Red {
			evs = append(evs, s.reminder(c, now))
		}
	} else {
		b.Check(key, c.Version)
	}
	if next := s.nextThreshold(c, now); !next.IsZero() {
		b.IndexAdd(idxDeadlines, string(c.Code), msCeil(next))
	}
	return b, evs
}

// reminder is the 催办 event naming who is responsible for the overdue stage:
// the routed departments that still owe work, else the responsible region.
func (s *Service) reminder(c *Case, now time.Time) Event {
	ev := s.caseEvent(EventCaseReminder, c, "scheduler", now)
	depts := c.responsibleDepartments()
	if c.Stage != stageCheckin && c.Stage != stageHandle {
		depts = nil
	}
	ev.Data = map[string]any{"stage": c.Stage, "deadline": c.Deadline,
		"departments": depts, "responsible_region": c.responsibleRegion()}
	return ev
}

// repair re-adds the threshold of every open case that has none (a hub
// stopped between ClaimDue and its write). A case whose colour is already
// out of date is scheduled now.
func (s *Service) repair(ctx context.Context) error {
	for offset := 0; ; offset += 500 {
		ents, err := s.st.IndexRange(ctx, idxOpen, store.Range{Min: scoreMin, Max: scoreMax, Offset: offset, Limit: 500})
		if err != nil {
			return err
		}
		b := new(store.Batch)
		for _, e := range ents {
			if err := s.repairOne(ctx, b, CaseID(e.Member)); err != nil {
				return err
			}
		}
		if len(b.Ops) > 0 {
			if _, err := s.st.Apply(ctx, b); err != nil {
				return err
			}
		}
		if len(ents) < 500 {
			return nil
		}
	}
}

func (s *Service) repairOne(ctx context.Context, b *store.Batch, code CaseID) error {
	if _, err := s.st.IndexScore(ctx, idxDeadlines, string(code)); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	c, err := s.loadCase(ctx, code)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	now := s.now()
	if s.colourAt(c, now) != c.Colour {
		b.IndexAdd(idxDeadlines, string(code), ms(now))
	} else if next := s.nextThreshold(c, now); !next.IsZero() {
		b.IndexAdd(idxDeadlines, string(code), msCeil(next))
	}
	return nil
}
