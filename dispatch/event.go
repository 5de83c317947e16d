package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"pingan/internal/auth"
)

// Event types. Department sub-state moves are "department." + action
// (department.checkin, department.start, department.finish,
// department.reject); incident changes are "incident." + what changed.
const (
	EventCaseCreated      = "case.created"
	EventCaseTransition   = "case.transition"
	EventCaseColour       = "case.colour"
	EventCaseReminder     = "case.reminder" // 催办: a stage went overdue
	EventDepartmentPrefix = "department."
	EventDepartmentNew    = "department.created"
	EventIncidentPrefix   = "incident."
	EventSnapshot         = "stats.snapshot"
)

// Event is one entry of the global event log. Offset comes from the log.
type Event struct {
	Offset      uint64         `json:"offset"`
	Type        string         `json:"type"`
	Case        CaseID         `json:"case,omitempty"`
	Incident    IncidentID     `json:"incident,omitempty"`
	Region      string         `json:"region,omitempty"`
	EscalatedTo string         `json:"escalated_to,omitempty"`
	Action      string         `json:"action,omitempty"`
	From        string         `json:"from,omitempty"`
	State       string         `json:"state,omitempty"`
	Colour      Colour         `json:"colour,omitempty"`
	Version     uint64         `json:"version,omitempty"`
	Time        time.Time      `json:"time"`
	Actor       string         `json:"actor,omitempty"`
	Data        map[string]any `json:"data,omitempty"`
}

// visibleTo applies the region scope to an event (events without a region
// are visible only to unscoped principals).
func (e *Event) visibleTo(scope string) bool {
	return inScope(scope, e.Region) || (e.EscalatedTo != "" && inScope(scope, e.EscalatedTo))
}

// caseEvent starts an event about c. Version is the case's version after
// the write (the one that will be current).
func (s *Service) caseEvent(typ string, c *Case, actor string, now time.Time) Event {
	return Event{Type: typ, Case: c.Code, Region: c.Region, EscalatedTo: c.EscalatedTo,
		State: string(c.State), Colour: c.Colour, Version: c.Version + 1, Time: now, Actor: actor}
}

// EventPage is a read of the global log: the events in scope, Next (the
// offset to pass as `after` next time, advanced past filtered-out entries),
// and Recovered (false when entries after `after` were trimmed away: the
// client must reload).
type EventPage struct {
	Events    []Event `json:"events"`
	Next      uint64  `json:"next"`
	Recovered bool    `json:"recovered"`
}

// Events returns up to limit events with offset > after that p may see,
// and false when `after` was trimmed away (the client must reload).
func (s *Service) Events(ctx context.Context, p auth.Principal, after uint64, limit int) ([]Event, bool, error) {
	pg, err := s.ReadEvents(ctx, p, after, limit)
	return pg.Events, pg.Recovered, err
}

// ReadEvents is Events with the offset to continue from.
func (s *Service) ReadEvents(ctx context.Context, p auth.Principal, after uint64, limit int) (EventPage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	first, last, err := s.st.LogBounds(ctx, logEvents)
	if err != nil {
		return EventPage{}, fmt.Errorf("dispatch: event log bounds: %w", err)
	}
	pg := EventPage{Events: []Event{}, Next: after, Recovered: first == 0 || after+1 >= first}
	from := max(after+1, first)
	const maxScan = 10000 // bound the work per call when scope filters out most
	for scanned := 0; pg.Next < last && len(pg.Events) < limit && scanned < maxScan; {
		ents, err := s.st.ReadLog(ctx, logEvents, from, min(limit*2, 500))
		if err != nil {
			return EventPage{}, fmt.Errorf("dispatch: read events from %d: %w", from, err)
		}
		if len(ents) == 0 {
			break
		}
		for _, le := range ents {
			scanned++
			pg.Next, from = le.Offset, le.Offset+1
			var ev Event
			if json.Unmarshal(le.Value, &ev) != nil || !ev.visibleTo(p.Region) {
				continue
			}
			ev.Offset = le.Offset
			pg.Events = append(pg.Events, ev)
			if len(pg.Events) == limit {
				break
			}
		}
	}
	return pg, nil
}

// LatestEventOffset is the offset of the newest event written (0 when the
// log is empty).
func (s *Service) LatestEventOffset(ctx context.Context) (uint64, error) {
	_, last, err := s.st.LogBounds(ctx, logEvents)
	if err != nil {
		return 0, fmt.Errorf("dispatch: event log bounds: %w", err)
	}
	return last, nil
}

// Watch delivers the newest event offset whenever an event is written on
// any node (coalesced: a slow reader gets only the latest offset). Readers
// then call ReadEvents from their last offset. The channel closes when ctx
// ends or the subscription fails.
func (s *Service) Watch(ctx context.Context) <-chan uint64 {
	out := make(chan uint64, 1)
	// Offsets are published after their commit returns: let those of
	// earlier commits go out first, so none of them reaches this watcher.
	s.pub.flush(ctx)
	sub, err := s.st.Subscribe(ctx, topicEvents)
	if err != nil {
		s.log.Warn("subscribe to events", "err", err)
		close(out)
		return out
	}
	go func() {
		defer close(out)
		for msg := range sub {
			off, err := strconv.ParseUint(string(msg), 10, 64)
			if err != nil {
				continue
			}
			select { // keep only the newest offset
			case old := <-out:
				off = max(off, old)
			default:
			}
			out <- off
		}
	}()
	return out
}
