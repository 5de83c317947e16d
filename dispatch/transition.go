package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"pingan/internal/auth"
	"pingan/internal/store"
)

// TransitionRequest is the body of POST /api/v1/cases/{code}/transitions.
type TransitionRequest struct {
	Action  Action `json:"action"`
	Version uint64 `json:"version"`
	Reason  string `json:"reason,omitempty"`
	Note    string `json:"note,omitempty"`
	// Departments to route to (route).
	Departments []DepartmentID `json:"departments,omitempty"`
	// Department whose sub-state changes (checkin, start, finish, reject).
	Department DepartmentID `json:"department,omitempty"`
	// Satisfaction 1–5 (followup); 1–2 reopens the case to routed.
	Satisfaction int `json:"satisfaction,omitempty"`
	// Deadline is the new deadline of the current stage (extend).
	Deadline time.Time `json:"deadline,omitzero"`
	// Target is the case a duplicate is merged into (merge).
	Target CaseID `json:"target,omitempty"`
	// Evidence is attached to the case with any action.
	Evidence []Evidence `json:"evidence,omitempty"`
}

// Transition performs one workflow action on a case as one atomic write:
// the case with its version check, index updates, a timeline entry and one
// event in the global log. Checks, in order: scope (ErrNotFound), version
// (*StaleError), from-state (*StateError), role (ErrForbidden), fields
// (*ValidationError).
func (s *Service) Transition(ctx context.Context, p auth.Principal, code CaseID, req TransitionRequest) (*Case, error) {
	rule, ok := ruleFor(req.Action)
	if !ok {
		return nil, invalid("action", "unknown action %q", req.Action)
	}
	c, err := s.loadVisible(ctx, p, code)
	if err != nil {
		return nil, err
	}
	if req.Version != c.Version {
		return nil, &StaleError{Current: c.Version}
	}
	if allowed := AllowedActions(c); !slices.Contains(allowed, string(req.Action)) {
		return nil, &StateError{State: string(c.State), Action: string(req.Action), Allowed: allowed}
	}
	if !roleAllowed(rule, p) {
		return nil, ErrForbidden
	}
	if err := s.validate(ctx, p, c, req); err != nil {
		return nil, err
	}
	return s.applyTransition(ctx, p, c, rule, req)
}

// validate checks the request's fields for the action.
func (s *Service) validate(ctx context.Context, p auth.Principal, c *Case, req TransitionRequest) error {
	if err := checkEvidence(req.Evidence); err != nil {
		return err
	}
	if len(req.Note) > maxText || len(req.Reason) > maxText {
		return invalid(fieldReason, "longer than %d bytes", maxText)
	}
	switch req.Action {
	case ActReturn, ActReject, ActInvalidate, ActSuspend:
		if strings.TrimSpace(req.Reason) == "" {
			return invalid(fieldReason, "required for %s", req.Action)
		}
	case ActFollowup:
		if req.Satisfaction < 1 || req.Satisfaction > 5 {
			return invalid(fieldSatisfaction, "want 1 to 5, got %d", req.Satisfaction)
		}
	case ActExtend:
		if req.Deadline.IsZero() || !req.Deadline.After(s.now()) {
			return invalid(fieldDeadline, "want a new deadline in the future")
		}
	case ActEscalate:
		if parentRegion(c.responsibleRegion()) == "" {
			return invalid("action", "the case is already at province level")
		}
	case ActRoute:
		return s.validateRoute(ctx, req.Departments)
	case ActMerge:
		return s.validateMerge(ctx, p, c, req.Target)
	}
	if slices.Contains([]Action{ActCheckin, ActStart, ActFinish, ActReject}, req.Action) {
		return validateDeptMove(c, req)
	}
	return nil
}

func (s *Service) validateRoute(ctx context.Context, ids []DepartmentID) error {
	if len(ids) == 0 {
		return invalid(fieldDepartments, "route needs at least one department")
	}
	seen := map[DepartmentID]bool{}
	for _, id := range ids {
		if seen[id] {
			return invalid(fieldDepartments, "department %q listed twice", id)
		}
		seen[id] = true
		if _, err := s.loadDepartment(ctx, id); errors.Is(err, ErrNotFound) {
			return invalid(fieldDepartments, "unknown department %q", id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) validateMerge(ctx context.Context, p auth.Principal, c *Case, target CaseID) error {
	if target == "" {
		return invalid(fieldTarget, "merge needs the target case")
	}
	if target == c.Code {
		return invalid(fieldTarget, "a case cannot be merged into itself")
	}
	t, err := s.loadVisible(ctx, p, target)
	if errors.Is(err, ErrNotFound) {
		return invalid(fieldTarget, "no such case %q", target)
	}
	if err != nil {
		return err
	}
	if t.State.Terminal() {
		return invalid(fieldTarget, "case %q is %s", target, t.State)
	}
	return nil
}

// validateDeptMove checks the department field and its sub-state.
func validateDeptMove(c *Case, req TransitionRequest) error {
	if req.Department == "" {
		return invalid(fieldDepartment, "required for %s", req.Action)
	}
	a := c.assignment(req.Department)
	if a == nil {
		return invalid(fieldDepartment, "department %q is not routed to this case", req.Department)
	}
	if !slices.Contains(deptMoves[req.Action], a.State) {
		return &StateError{State: "department " + string(a.State), Action: string(req.Action), Allowed: deptAllowed(a.State)}
	}
	return nil
}

// applyTransition mutates a copy of the case and writes it atomically.
func (s *Service) applyTransition(ctx context.Context, p auth.Principal, c *Case, rule Rule, req TransitionRequest) (*Case, error) {
	now := s.now()
	from, prevVersion := c.State, c.Version
	entry := TimelineEntry{At: now, Actor: actorOf(p), Action: string(req.Action), From: from,
		Department: req.Department, Note: joinNote(req.Reason, req.Note)}
	data := s.mutate(c, rule, req, now)
	for _, e := range req.Evidence {
		e.At = now
		c.Evidence = append(c.Evidence, e)
	}
	s.enterStage(c, now)
	entry.To = c.State
	c.Timeline = append(c.Timeline, entry)
	c.Updated = now

	b := new(store.Batch)
	b.Put(keyCase+string(c.Code), mustJSON(c), prevVersion)
	s.indexCase(b, c, from, now)
	ev := s.caseEvent(EventCaseTransition, c, actorOf(p), now)
	ev.Action, ev.From, ev.Data = string(req.Action), string(from), data
	if isDeptAction(req.Action) {
		ev.Type = EventDepartmentPrefix + string(req.Action)
	}
	res, err := s.commit(ctx, b, ev)
	if err != nil {
		return nil, s.conflictToStale(ctx, c.Code, err)
	}
	c.Version = res.Versions[0]
	return c, nil
}

// conflictToStale turns a failed CAS on the case into a *StaleError.
func (s *Service) conflictToStale(ctx context.Context, code CaseID, err error) error {
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Key != keyCase+string(code) {
		return fmt.Errorf("dispatch: write case %s: %w", code, err)
	}
	return &StaleError{Current: ce.Actual}
}

// indexCase adds the index updates for a written case whose state was from.
func (s *Service) indexCase(b *store.Batch, c *Case, from State, now time.Time) {
	created := ms(c.Created)
	member := string(c.Code)
	if from != c.State {
		if from != "" {
			b.IndexRemove(idxState+string(from), member)
		}
		b.IndexAdd(idxState+string(c.State), member, created)
	}
	if c.State.Terminal() {
		b.IndexRemove(idxOpen, member)
	} else {
		b.IndexAdd(idxOpen, member, created)
	}
	if next := s.nextThreshold(c, now); !next.IsZero() {
		b.IndexAdd(idxDeadlines, member, msCeil(next))
	} else {
		b.IndexRemove(idxDeadlines, member)
	}
}

func msCeil(t time.Time) float64 {
	return float64((t.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond))
}

func joinNote(reason, note string) string {
	switch {
	case reason == "":
		return note
	case note == "":
		return reason
	}
	return reason + " — " + note
}

func isDeptAction(a Action) bool {
	return a == ActCheckin || a == ActStart || a == ActFinish || a == ActReject
}
