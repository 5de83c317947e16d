package dispatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"pingan/configs"
	"pingan/internal/auth"
	"pingan/internal/store"
)

// Field limits.
const (
	maxTitle    = 200   // runes
	maxText     = 10000 // bytes
	maxParties  = 50
	maxEvidence = 100
	maxExtID    = 128
)

var (
	reRegion = regexp.MustCompile(`^([0-9]{6}|[0-9]{9})$`)
	reExtID  = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
)

// NewCase is the body of POST /api/v1/cases.
type NewCase struct {
	Type        string     `json:"type"`
	Source      Source     `json:"source"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Location    Location   `json:"location"`
	Parties     []Party    `json:"parties,omitempty"`
	Reporter    *Reporter  `json:"reporter,omitempty"`
	Region      string     `json:"region"` // 6 (county) or 9 (township) digits
	ExternalID  string     `json:"external_id,omitempty"`
	Urgency     string     `json:"urgency,omitempty"`
	Evidence    []Evidence `json:"evidence,omitempty"`
	// HandleLimit overrides the type's handle limit (e.g. a 12345 order's).
	HandleLimit time.Duration `json:"handle_limit,omitempty"`
}

var creators = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader, auth.RoleMediator,
	auth.RoleGrid, auth.RoleIntegration}

// Create registers a case in the caller's scope. With an external_id that
// is already known it returns the existing case with Existing set.
func (s *Service) Create(ctx context.Context, p auth.Principal, nc NewCase) (*Case, error) {
	if !p.Is(creators...) {
		return nil, ErrForbidden
	}
	if err := s.validateNew(&nc); err != nil {
		return nil, err
	}
	typ, err := s.activeType(ctx, nc.Type)
	if err != nil {
		return nil, err
	}
	if !p.InScope(nc.Region) {
		return nil, invalid("region", "region %s is outside your scope %q", nc.Region, p.Region)
	}
	if nc.ExternalID != "" {
		if c, err := s.byExternalID(ctx, p, nc.ExternalID); err == nil || !errors.Is(err, ErrNotFound) {
			return c, err
		}
	}
	c, err := s.insert(ctx, p, nc, typ)
	var ce *store.ConflictError
	if errors.As(err, &ce) && nc.ExternalID != "" && ce.Key == keyExtID+nc.ExternalID {
		return s.byExternalID(ctx, p, nc.ExternalID) // lost a race with the same order
	}
	return c, err
}

// byExternalID returns the case registered under an external id.
func (s *Service) byExternalID(ctx context.Context, p auth.Principal, ext string) (*Case, error) {
	rec, err := s.st.Get(ctx, keyExtID+ext)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dispatch: look up external id: %w", err)
	}
	c, err := s.loadCase(ctx, CaseID(rec.Value))
	if err != nil {
		return nil, err
	}
	if !c.visibleTo(p.Region) {
		return nil, invalid("external_id", "already used by a case outside your scope")
	}
	c.Existing = true
	return c, nil
}

// insert allocates the code and writes the case, its indexes, its
// external-id record and the case.created event in one Apply. The case
// copies typ's limits.
func (s *Service) insert(ctx context.Context, p auth.Principal, nc NewCase, typ CaseType) (*Case, error) {
	now := s.now()
	code, err := s.nextCode(ctx, nc.Region, now)
	if err != nil {
		return nil, err
	}
	c := &Case{Code: code, Type: nc.Type, Source: nc.Source, Title: nc.Title, Description: nc.Description,
		Location: nc.Location, Parties: nc.Parties, Reporter: nc.Reporter, Region: nc.Region,
		Level: LevelOf(nc.Region), ExternalID: nc.ExternalID, Urgency: nc.Urgency,
		HandleLimit: nc.HandleLimit, Limits: stageLimits(typ), State: StateRegistered, Created: now, Updated: now,
		Timeline: []TimelineEntry{{At: now, Actor: actorOf(p), Action: "register", To: StateRegistered}}}
	for _, e := range nc.Evidence {
		e.At = now
		c.Evidence = append(c.Evidence, e)
	}
	s.enterStage(c, now)
	b := new(store.Batch)
	b.Put(keyCase+string(code), mustJSON(c), 0)
	if nc.ExternalID != "" {
		b.Put(keyExtID+nc.ExternalID, []byte(code), 0)
	}
	b.IndexAdd(idxCases, string(code), ms(now))
	for _, prefix := range regionPrefixes(nc.Region) {
		b.IndexAdd(idxRegion+prefix, string(code), ms(now))
	}
	s.indexCase(b, c, "", now)
	ev := s.caseEvent(EventCaseCreated, c, actorOf(p), now)
	ev.Data = map[string]any{"type": c.Type, "source": c.Source, "title": c.Title}
	res, err := s.commit(ctx, b, ev)
	if err != nil {
		return nil, fmt.Errorf("dispatch: create case: %w", err)
	}
	c.Version = res.Versions[0]
	return c, nil
}

// stageLimits copies typ's limits for a new case (never nil, so the case
// does not fall back to the configured type's).
func stageLimits(typ CaseType) map[string]configs.Duration {
	out := make(map[string]configs.Duration, len(typ.Limits))
	maps.Copy(out, typ.Limits)
	return out
}

// nextCode allocates region + YYYYMMDD (center's zone) + 6-digit sequence.
func (s *Service) nextCode(ctx context.Context, region string, now time.Time) (CaseID, error) {
	day := now.In(s.loc).Format("20060102")
	n, err := s.st.Next(ctx, seqCase+region+"/"+day)
	if err != nil {
		return "", fmt.Errorf("dispatch: case sequence: %w", err)
	}
	if n > 999999 {
		return "", fmt.Errorf("dispatch: region %s ran out of case codes for %s", region, day)
	}
	return CaseID(fmt.Sprintf("%s%s%06d", region, day, n)), nil
}

// regionPrefixes are the 2/4/6/9-digit prefixes of a region code.
func regionPrefixes(region string) []string {
	var out []string
	for _, n := range []int{2, 4, 6, 9} {
		if len(region) >= n {
			out = append(out, region[:n])
		}
	}
	return out
}

// validateNew checks and normalises a new case.
func (s *Service) validateNew(nc *NewCase) error {
	nc.Title = strings.TrimSpace(nc.Title)
	switch {
	case nc.Type == "":
		return invalid("type", "required")
	case !slices.Contains(Sources, nc.Source):
		return invalid("source", "want one of grid, hotline, walkin, camera, online")
	case nc.Title == "":
		return invalid("title", "required")
	case utf8.RuneCountInString(nc.Title) > maxTitle:
		return invalid("title", "longer than %d characters", maxTitle)
	case len(nc.Description) > maxText:
		return invalid("description", "longer than %d bytes", maxText)
	case !reRegion.MatchString(nc.Region):
		return invalid("region", "want a 6-digit county or 9-digit township code")
	case nc.ExternalID != "" && !reExtID.MatchString(nc.ExternalID):
		return invalid("external_id", "want 1 to %d printable ASCII characters", maxExtID)
	case len(nc.Parties) > maxParties:
		return invalid("parties", "at most %d", maxParties)
	case nc.HandleLimit < 0:
		return invalid("handle_limit", "must not be negative")
	}
	if err := checkLocation(nc.Location); err != nil {
		return err
	}
	return checkEvidence(nc.Evidence)
}

func checkLocation(l Location) error {
	switch {
	case math.IsNaN(l.Lat) || l.Lat < -90 || l.Lat > 90:
		return invalid("location.lat", "want -90 to 90")
	case math.IsNaN(l.Lon) || l.Lon < -180 || l.Lon > 180:
		return invalid("location.lon", "want -180 to 180")
	case len(l.Address) > 1000:
		return invalid("location.address", "longer than 1000 bytes")
	}
	return nil
}

func checkEvidence(ev []Evidence) error {
	if len(ev) > maxEvidence {
		return invalid("evidence", "at most %d", maxEvidence)
	}
	for i, e := range ev {
		if e.Kind != EvidenceRecording && e.Kind != EvidenceSnapshot && e.Kind != EvidenceStream {
			return invalid(fmt.Sprintf("evidence[%d].kind", i), "want recording, snapshot or stream")
		}
		if e.Ref == "" || len(e.Ref) > 2000 {
			return invalid(fmt.Sprintf("evidence[%d].ref", i), "required, at most 2000 bytes")
		}
	}
	return nil
}

// Get returns a case visible to p.
func (s *Service) Get(ctx context.Context, p auth.Principal, code CaseID) (*Case, error) {
	return s.loadVisible(ctx, p, code)
}
