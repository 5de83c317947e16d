package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"pingan/internal/auth"
	"pingan/internal/store"
)

// IncidentID names an incident ("INC" + sequence).
type IncidentID string

// Incident states.
const (
	IncidentOpen   = "open"
	IncidentClosed = "closed"
)

// Summon is a department called in to an incident (吹哨) and its check-in (报到).
type Summon struct {
	Department  DepartmentID `json:"department"`
	SummonedAt  time.Time    `json:"summoned_at"`
	CheckedInAt time.Time    `json:"checked_in_at,omitzero"`
}

// Incident is a live command on a case (指挥事件). Streams and Room are ids
// that signaling resolves; dispatch knows nothing about video.
type Incident struct {
	ID       IncidentID `json:"id"`
	Case     CaseID     `json:"case"`
	Region   string     `json:"region"`
	Severity int        `json:"severity"` // 1 (特别重大) … 4 (一般)
	Location Location   `json:"location"`
	State    string     `json:"state"`
	Streams  []string   `json:"streams"`
	Room     string     `json:"room,omitempty"`
	Summons  []Summon   `json:"summons"`
	Created  time.Time  `json:"created"`
	Closed   time.Time  `json:"closed,omitzero"`
	Version  uint64     `json:"version"`
}

// NewIncident is the body of POST /api/v1/incidents. A zero location takes the case's.
type NewIncident struct {
	Case     CaseID    `json:"case"`
	Severity int       `json:"severity"`
	Location *Location `json:"location,omitempty"`
}

var commanders = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader}

// CreateIncident opens an incident on a case visible to p.
func (s *Service) CreateIncident(ctx context.Context, p auth.Principal, ni NewIncident) (*Incident, error) {
	if !p.Is(commanders...) {
		return nil, ErrForbidden
	}
	c, err := s.loadVisible(ctx, p, ni.Case)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid("case", "no such case %q", ni.Case)
	} else if err != nil {
		return nil, err
	}
	if ni.Severity < 1 || ni.Severity > 4 {
		return nil, invalid("severity", "want 1 (most severe) to 4")
	}
	loc := c.Location
	if ni.Location != nil {
		if err := checkLocation(*ni.Location); err != nil {
			return nil, err
		}
		loc = *ni.Location
	}
	n, err := s.st.Next(ctx, seqIncident)
	if err != nil {
		return nil, fmt.Errorf("dispatch: incident sequence: %w", err)
	}
	now := s.now()
	in := &Incident{ID: IncidentID(fmt.Sprintf("INC%08d", n)), Case: c.Code, Region: c.Region,
		Severity: ni.Severity, Location: loc, State: IncidentOpen, Streams: []string{},
		Summons: []Summon{}, Created: now}
	b := new(store.Batch).Put(keyIncident+string(in.ID), mustJSON(in), 0)
	b.IndexAdd(idxIncidents, string(in.ID), ms(now))
	res, err := s.commit(ctx, b, s.incidentEvent("created", in, p, now, nil))
	if err != nil {
		return nil, fmt.Errorf("dispatch: create incident: %w", err)
	}
	in.Version = res.Versions[0]
	return in, nil
}

func (s *Service) incidentEvent(what string, in *Incident, p auth.Principal, now time.Time, data map[string]any) Event {
	return Event{Type: EventIncidentPrefix + what, Incident: in.ID, Case: in.Case, Region: in.Region,
		State: in.State, Version: in.Version + 1, Time: now, Actor: actorOf(p), Data: data}
}

// Incident returns an incident visible to p.
func (s *Service) Incident(ctx context.Context, p auth.Principal, id IncidentID) (*Incident, error) {
	in, err := s.loadIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if !p.InScope(in.Region) {
		return nil, ErrNotFound
	}
	return in, nil
}

// Incidents lists the incidents in p's scope, newest first; openOnly drops closed ones.
func (s *Service) Incidents(ctx context.Context, p auth.Principal, openOnly bool, limit int) ([]*Incident, error) {
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	ents, err := s.st.IndexRange(ctx, idxIncidents, store.Range{Min: scoreMin, Max: scoreMax, Rev: true})
	if err != nil {
		return nil, fmt.Errorf("dispatch: list incidents: %w", err)
	}
	out := []*Incident{}
	for _, e := range ents {
		in, err := s.loadIncident(ctx, IncidentID(e.Member))
		if err != nil || !p.InScope(in.Region) || (openOnly && in.State != IncidentOpen) {
			continue
		}
		if out = append(out, in); len(out) == limit {
			break
		}
	}
	return out, nil
}

func (s *Service) loadIncident(ctx context.Context, id IncidentID) (*Incident, error) {
	if !strings.HasPrefix(string(id), "INC") || len(id) > 32 {
		return nil, ErrNotFound
	}
	rec, err := s.st.Get(ctx, keyIncident+string(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dispatch: load incident %s: %w", id, err)
	}
	in := new(Incident)
	if err := json.Unmarshal(rec.Value, in); err != nil {
		return nil, fmt.Errorf("dispatch: decode incident %s: %w", id, err)
	}
	in.Version = rec.Version
	return in, nil
}

// updateIncident loads, checks, changes and writes an open incident, retrying
// on concurrent writes. change returns the event data.
func (s *Service) updateIncident(ctx context.Context, p auth.Principal, id IncidentID, what string,
	roles []auth.Role, change func(in *Incident, now time.Time) (map[string]any, error)) (*Incident, error) {
	for attempt := 0; attempt < 8; attempt++ {
		in, err := s.Incident(ctx, p, id)
		if err != nil {
			return nil, err
		}
		if in.State != IncidentOpen {
			return nil, &StateError{State: in.State, Action: what, Allowed: []string{}}
		}
		if !p.Is(roles...) {
			return nil, ErrForbidden
		}
		now := s.now()
		data, err := change(in, now)
		if err != nil {
			return nil, err
		}
		b := new(store.Batch).Put(keyIncident+string(in.ID), mustJSON(in), in.Version)
		res, err := s.commit(ctx, b, s.incidentEvent(what, in, p, now, data))
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dispatch: update incident %s: %w", id, err)
		}
		in.Version = res.Versions[0]
		return in, nil
	}
	return nil, fmt.Errorf("dispatch: incident %s kept changing", id)
}

// CloseIncident ends an incident.
func (s *Service) CloseIncident(ctx context.Context, p auth.Principal, id IncidentID) (*Incident, error) {
	return s.updateIncident(ctx, p, id, "closed", commanders, func(in *Incident, now time.Time) (map[string]any, error) {
		in.State, in.Closed = IncidentClosed, now
		return nil, nil
	})
}

// PinStream adds a stream id (a camera near the scene) to the incident.
func (s *Service) PinStream(ctx context.Context, p auth.Principal, id IncidentID, stream string) (*Incident, error) {
	if stream == "" || len(stream) > 256 {
		return nil, invalid("stream", "required, at most 256 bytes")
	}
	return s.updateIncident(ctx, p, id, "pinned", commanders, func(in *Incident, _ time.Time) (map[string]any, error) {
		if !slices.Contains(in.Streams, stream) {
			in.Streams = append(in.Streams, stream)
		}
		return map[string]any{"stream": stream}, nil
	})
}

// UnpinStream removes a pinned stream id.
func (s *Service) UnpinStream(ctx context.Context, p auth.Principal, id IncidentID, stream string) (*Incident, error) {
	return s.updateIncident(ctx, p, id, "unpinned", commanders, func(in *Incident, _ time.Time) (map[string]any, error) {
		in.Streams = slices.DeleteFunc(in.Streams, func(x string) bool { return x == stream })
		return map[string]any{"stream": stream}, nil
	})
}

// SetRoom records the command meeting room's id ("" clears it).
func (s *Service) SetRoom(ctx context.Context, p auth.Principal, id IncidentID, room string) (*Incident, error) {
	if len(room) > 256 {
		return nil, invalid("room", "at most 256 bytes")
	}
	return s.updateIncident(ctx, p, id, "room", commanders, func(in *Incident, _ time.Time) (map[string]any, error) {
		in.Room = room
		return map[string]any{"room": room}, nil
	})
}

// Summon calls departments in (中心吹哨); a department already summoned keeps its times.
func (s *Service) Summon(ctx context.Context, p auth.Principal, id IncidentID, depts []DepartmentID) (*Incident, error) {
	if err := s.validateRoute(ctx, depts); err != nil {
		return nil, err
	}
	return s.updateIncident(ctx, p, id, "summoned", commanders, func(in *Incident, now time.Time) (map[string]any, error) {
		for _, d := range depts {
			if !slices.ContainsFunc(in.Summons, func(x Summon) bool { return x.Department == d }) {
				in.Summons = append(in.Summons, Summon{Department: d, SummonedAt: now})
			}
		}
		return map[string]any{"departments": depts}, nil
	})
}

// CheckIn records a summoned department's arrival (部门报到).
func (s *Service) CheckIn(ctx context.Context, p auth.Principal, id IncidentID, dept DepartmentID) (*Incident, error) {
	return s.updateIncident(ctx, p, id, "checked_in", handlers, func(in *Incident, now time.Time) (map[string]any, error) {
		i := slices.IndexFunc(in.Summons, func(x Summon) bool { return x.Department == dept })
		if i < 0 {
			return nil, invalid("department", "department %q was not summoned", dept)
		}
		if in.Summons[i].CheckedInAt.IsZero() {
			in.Summons[i].CheckedInAt = now
		}
		return map[string]any{"department": dept, "checked_in_at": in.Summons[i].CheckedInAt}, nil
	})
}
