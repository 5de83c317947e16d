package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"pingan/internal/auth"
	"pingan/internal/store"
)

// DepartmentID names a department (letters, digits, '-', '_').
type DepartmentID string

var reDeptID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Department is a unit cases are routed to and incidents summon.
type Department struct {
	ID      DepartmentID `json:"id"`
	Name    string       `json:"name"`
	Region  string       `json:"region"`
	Created time.Time    `json:"created"`
}

var deptAdmins = []auth.Role{auth.RoleAdmin, auth.RoleLeader}

// CreateDepartment stores a new department in the caller's scope.
func (s *Service) CreateDepartment(ctx context.Context, p auth.Principal, d Department) (*Department, error) {
	if !p.Is(deptAdmins...) {
		return nil, ErrForbidden
	}
	d.Name = strings.TrimSpace(d.Name)
	switch {
	case !reDeptID.MatchString(string(d.ID)):
		return nil, invalid("id", "want 1 to 64 letters, digits, '-' or '_'")
	case d.Name == "" || utf8.RuneCountInString(d.Name) > 100:
		return nil, invalid("name", "required, at most 100 characters")
	case LevelOf(d.Region) == "":
		return nil, invalid("region", "want a 2, 4, 6 or 9-digit region code")
	case !p.InScope(d.Region):
		return nil, invalid("region", "region %s is outside your scope %q", d.Region, p.Region)
	}
	d.Created = s.now()
	b := new(store.Batch).Put(keyDept+string(d.ID), mustJSON(d), 0)
	ev := Event{Type: EventDepartmentNew, Region: d.Region, Time: d.Created, Actor: actorOf(p),
		Data: map[string]any{"id": d.ID, "name": d.Name}}
	if _, err := s.commit(ctx, b, ev); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, invalid("id", "department %q exists", d.ID)
		}
		return nil, fmt.Errorf("dispatch: create department: %w", err)
	}
	return &d, nil
}

// Departments lists the departments p can route to: those inside p's scope
// and those of the regions above it.
func (s *Service) Departments(ctx context.Context, p auth.Principal) ([]Department, error) {
	recs, err := s.st.Scan(ctx, keyDept, "", 0)
	if err != nil {
		return nil, fmt.Errorf("dispatch: list departments: %w", err)
	}
	out := []Department{}
	for _, r := range recs {
		var d Department
		if json.Unmarshal(r.Value, &d) != nil {
			continue
		}
		if p.InScope(d.Region) || inScope(d.Region, p.Region) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *Service) loadDepartment(ctx context.Context, id DepartmentID) (*Department, error) {
	if !reDeptID.MatchString(string(id)) {
		return nil, ErrNotFound
	}
	rec, err := s.st.Get(ctx, keyDept+string(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dispatch: load department %s: %w", id, err)
	}
	d := new(Department)
	if err := json.Unmarshal(rec.Value, d); err != nil {
		return nil, fmt.Errorf("dispatch: decode department %s: %w", id, err)
	}
	return d, nil
}
