package dispatch

import (
	"context"
	"errors"

	"pingan/internal/auth"
	"pingan/internal/store"
)

// EventCaseEvidence is written when evidence (a recording, a snapshot) is
// filed to a case outside a transition.
const EventCaseEvidence = "case.evidence"

// AddEvidence files evidence to a case with a timeline entry and an event,
// in one atomic write; a concurrent change of the case is retried.
func (s *Service) AddEvidence(ctx context.Context, p auth.Principal, code CaseID, e Evidence) (*Case, error) {
	if e.Kind == "" || e.Ref == "" {
		return nil, invalid("evidence", "kind and ref are required")
	}
	for range 5 {
		c, err := s.loadCase(ctx, code)
		if err != nil {
			return nil, err
		}
		if !c.visibleTo(p.Region) {
			return nil, ErrNotFound
		}
		if len(c.Evidence) >= maxEvidence {
			return nil, invalid("evidence", "at most %d", maxEvidence)
		}
		now := s.now()
		prev := c.Version
		e.At = now
		c.Evidence = append(c.Evidence, e)
		c.Timeline = append(c.Timeline, TimelineEntry{At: now, Actor: actorOf(p), Action: "evidence",
			Note: e.Kind + " " + e.Ref})
		c.Updated = now
		b := new(store.Batch)
		b.Put(keyCase+string(c.Code), mustJSON(c), prev)
		ev := s.caseEvent(EventCaseEvidence, c, actorOf(p), now)
		ev.Data = map[string]any{"kind": e.Kind, "ref": e.Ref}
		res, err := s.commit(ctx, b, ev)
		var ce *store.ConflictError
		if errors.As(err, &ce) {
			continue
		}
		if err != nil {
			return nil, err
		}
		c.Version = res.Versions[0]
		return c, nil
	}
	return nil, &StaleError{}
}
