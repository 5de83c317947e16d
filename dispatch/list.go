package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"pingan/internal/auth"
	"pingan/internal/store"
)

// Score bounds for time-scored indexes (unix ms); avoids ±Inf on the wire.
const (
	scoreMin = 0
	scoreMax = 1e15
)

// Filter selects cases for List. Empty fields match everything.
type Filter struct {
	State  State
	Colour Colour
	Type   string
	Region string // region code prefix, intersected with the caller's scope
	Q      string // substring of title, description, code or address
	Cursor string // from a previous List; "" = newest
	Limit  int    // default 50, at most 500
}

// List returns the cases in p's scope matching f, newest first, and the
// cursor of the next page ("" at the end).
func (s *Service) List(ctx context.Context, p auth.Principal, f Filter) ([]*Case, string, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	prefix, ok := narrowest(p.Region, f.Region)
	if !ok {
		return []*Case{}, "", nil
	}
	f.Region, f.Q = prefix, strings.ToLower(strings.TrimSpace(f.Q))
	curScore, curCode, err := parseCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	idx := listIndex(prefix, f.State)
	out := []*Case{}
	for offset, batch := 0, 2*f.Limit; ; offset += batch {
		ents, err := s.st.IndexRange(ctx, idx, store.Range{Min: scoreMin, Max: curScore, Rev: true, Offset: offset, Limit: batch})
		if err != nil {
			return nil, "", fmt.Errorf("dispatch: list cases: %w", err)
		}
		for _, e := range ents {
			if f.Cursor != "" && e.Score == curScore && e.Member >= curCode {
				continue
			}
			c, err := s.loadCase(ctx, CaseID(e.Member))
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return nil, "", err
			}
			if !matches(c, p, f) {
				continue
			}
			out = append(out, c)
			if len(out) == f.Limit {
				return out, strconv.FormatFloat(e.Score, 'f', -1, 64) + ":" + e.Member, nil
			}
		}
		if len(ents) < batch {
			return out, "", nil
		}
	}
}

// narrowest intersects the caller's scope with the requested region prefix.
func narrowest(scope, region string) (string, bool) {
	switch {
	case inScope(scope, region):
		return region, true
	case inScope(region, scope):
		return scope, true
	}
	return "", false
}

// listIndex picks the smallest index that holds every candidate.
func listIndex(prefix string, st State) string {
	if st != "" {
		return idxState + string(st)
	}
	ps := regionPrefixes(prefix)
	if len(ps) == 0 {
		return idxCases
	}
	return idxRegion + ps[len(ps)-1]
}

func parseCursor(cur string) (float64, string, error) {
	if cur == "" {
		return scoreMax, "", nil
	}
	sc, code, ok := strings.Cut(cur, ":")
	f, err := strconv.ParseFloat(sc, 64)
	if !ok || err != nil || code == "" {
		return 0, "", invalid("cursor", "malformed cursor")
	}
	return f, code, nil
}

func matches(c *Case, p auth.Principal, f Filter) bool {
	switch {
	case !c.visibleTo(p.Region), !c.visibleTo(f.Region):
		return false
	case f.State != "" && c.State != f.State,
		f.Colour != "" && c.Colour != f.Colour,
		f.Type != "" && c.Type != f.Type:
		return false
	case f.Q == "":
		return true
	}
	for _, s := range []string{c.Title, c.Description, string(c.Code), c.Location.Address} {
		if strings.Contains(strings.ToLower(s), f.Q) {
			return true
		}
	}
	return false
}
