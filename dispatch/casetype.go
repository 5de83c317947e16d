package dispatch

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"pingan/configs"
	"pingan/internal/auth"
	"pingan/internal/store"
)

// keyCaseType + id → JSON CaseType: a case type saved from the admin pages.
const keyCaseType = "dispatch/casetype/"

// Case type limits.
const (
	maxCaseTypes    = 100                  // stored case types
	maxTypeName     = 64                   // runes, each name
	maxStageLimit   = 366 * 24 * time.Hour // longest stage limit
	maxCaseTypeBody = 16 << 10             // bytes of one JSON case type
)

var reTypeID = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// CaseType is a kind of case with its per-stage time limits (DESIGN
// decision 7), as the admin pages edit it. The hub config's
// dispatch.case_types are the seed: a type that was never saved has its
// config values (Version 0); once saved, the stored record wins. A case
// copies its type's limits when it is registered, so editing a type changes
// new cases only.
type CaseType struct {
	ID string `json:"id"`
	// Name is the Chinese name; NameEn the English one ("" = Name).
	Name   string `json:"name"`
	NameEn string `json:"name_en,omitempty"`
	// Limits are per stage (configs.Stages); a stage without a limit has no clock.
	Limits map[string]configs.Duration `json:"limits"`
	// Active types can be chosen for new cases; inactive ones stay for old cases.
	Active bool `json:"active"`
	// Version is the stored record's version; 0 for a type only the config
	// defines. A write that carries a version must match it (409 otherwise).
	Version   uint64    `json:"version"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	Updated   time.Time `json:"updated,omitzero"`
}

// seedType turns a configured case type into an active CaseType.
func seedType(t configs.CaseType) CaseType {
	return CaseType{ID: t.ID, Name: t.Name, Limits: maps.Clone(t.Limits), Active: true}
}

// DecodeCaseType reads one JSON case type (no unknown fields, no trailing
// data) and checks it. Errors are *ValidationError.
func DecodeCaseType(body []byte) (CaseType, error) {
	var ct CaseType
	if len(body) > maxCaseTypeBody {
		return ct, invalid("body", "longer than %d bytes", maxCaseTypeBody)
	}
	if err := decodeStrict(body, &ct); err != nil {
		return ct, err
	}
	return ct, ct.check()
}

// check validates and normalises the editable fields.
func (ct *CaseType) check() error {
	ct.Name, ct.NameEn = strings.TrimSpace(ct.Name), strings.TrimSpace(ct.NameEn)
	switch {
	case !reTypeID.MatchString(ct.ID):
		return invalid("id", "want 1-32 of a-z 0-9 _ -")
	case ct.Name == "":
		return invalid("name", "required")
	case !plainText(ct.Name, maxTypeName):
		return invalid("name", "at most %d characters, no control characters", maxTypeName)
	case !plainText(ct.NameEn, maxTypeName):
		return invalid("name_en", "at most %d characters, no control characters", maxTypeName)
	}
	if ct.Limits == nil {
		ct.Limits = map[string]configs.Duration{}
	}
	for _, stage := range slices.Sorted(maps.Keys(ct.Limits)) {
		lim := ct.Limits[stage].D()
		switch {
		case !slices.Contains(configs.Stages, stage):
			return invalid("limits", "unknown stage %q; want %s", stage, strings.Join(configs.Stages, ", "))
		case lim <= 0 || lim > maxStageLimit:
			return invalid("limits."+stage, "want a duration from 1s to 366d")
		}
	}
	return nil
}

// plainText reports whether s is valid UTF-8 of at most n runes without
// control characters.
func plainText(s string, n int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > n {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// CaseTypes lists every case type: the configured ones in config order,
// then those created in the admin pages, by id.
func (s *Service) CaseTypes(ctx context.Context) ([]CaseType, error) {
	recs, err := s.st.Scan(ctx, keyCaseType, "", 0)
	if err != nil {
		return nil, fmt.Errorf("dispatch: list case types: %w", err)
	}
	stored := make(map[string]CaseType, len(recs))
	for _, r := range recs {
		ct, err := decodeStored(r)
		if err != nil {
			return nil, err
		}
		stored[ct.ID] = ct
	}
	out := make([]CaseType, 0, len(s.cfg.CaseTypes)+len(stored))
	for _, t := range s.cfg.CaseTypes {
		if ct, ok := stored[t.ID]; ok {
			out = append(out, ct)
			delete(stored, t.ID)
		} else {
			out = append(out, seedType(t))
		}
	}
	rest := slices.SortedFunc(maps.Values(stored), func(a, b CaseType) int { return cmp.Compare(a.ID, b.ID) })
	return append(out, rest...), nil
}

// CaseType returns one case type (stored, else configured) or ErrNotFound.
func (s *Service) CaseType(ctx context.Context, id string) (CaseType, error) {
	if !reTypeID.MatchString(id) {
		return CaseType{}, ErrNotFound
	}
	rec, err := s.st.Get(ctx, keyCaseType+id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if t, ok := s.seed[id]; ok {
			return seedType(t), nil
		}
		return CaseType{}, ErrNotFound
	case err != nil:
		return CaseType{}, fmt.Errorf("dispatch: load case type %s: %w", id, err)
	}
	return decodeStored(rec)
}

func decodeStored(r store.Record) (CaseType, error) {
	var ct CaseType
	if err := json.Unmarshal(r.Value, &ct); err != nil {
		return ct, fmt.Errorf("dispatch: decode case type %s: %w", r.Key, err)
	}
	ct.Version = r.Version
	return ct, nil
}

// SaveCaseType creates (create = true; the id must be new) or replaces a
// case type; only admins may. ct.Version > 0 must equal the current
// version (*StaleError otherwise); 0 skips the check. It returns the saved
// type and the one it replaced (zero when created).
func (s *Service) SaveCaseType(ctx context.Context, p auth.Principal, ct CaseType, create bool) (saved, prev CaseType, err error) {
	if !p.Is(auth.RoleAdmin) {
		return saved, prev, ErrForbidden
	}
	if err := ct.check(); err != nil {
		return saved, prev, err
	}
	prev, err = s.CaseType(ctx, ct.ID)
	switch {
	case create && err == nil:
		return saved, CaseType{}, invalid("id", "case type %q already exists", ct.ID)
	case create && errors.Is(err, ErrNotFound):
		if err := s.checkRoom(ctx); err != nil {
			return saved, prev, err
		}
		prev = CaseType{}
	case err != nil:
		return saved, prev, err
	}
	expect := store.AnyVersion
	if ct.Version > 0 {
		if ct.Version != prev.Version {
			return saved, prev, &StaleError{Current: prev.Version}
		}
		expect = ct.Version
	}
	if create || prev.Version == 0 {
		expect = 0 // the record must not exist yet
	}
	ct.UpdatedBy, ct.Updated, ct.Version = actorOf(p), s.now(), 0
	v, err := s.st.Put(ctx, keyCaseType+ct.ID, mustJSON(ct), expect, 0)
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		return saved, prev, &StaleError{Current: ce.Actual}
	}
	if err != nil {
		return saved, prev, fmt.Errorf("dispatch: save case type %s: %w", ct.ID, err)
	}
	ct.Version = v
	s.log.Info("case type saved", "type", ct.ID, "by", ct.UpdatedBy, "version", v, "active", ct.Active)
	return ct, prev, nil
}

// checkRoom refuses a new stored type past maxCaseTypes.
func (s *Service) checkRoom(ctx context.Context) error {
	recs, err := s.st.Scan(ctx, keyCaseType, "", maxCaseTypes+1)
	if err != nil {
		return fmt.Errorf("dispatch: count case types: %w", err)
	}
	if len(recs) >= maxCaseTypes {
		return invalid("id", "at most %d case types", maxCaseTypes)
	}
	return nil
}

// activeType resolves a case type for a new case: unknown or inactive
// types are a *ValidationError on "type".
func (s *Service) activeType(ctx context.Context, id string) (CaseType, error) {
	ct, err := s.CaseType(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return ct, invalid("type", "unknown case type %q", id)
	}
	if err != nil {
		return ct, err
	}
	if !ct.Active {
		return ct, invalid("type", "case type %q is not active", id)
	}
	return ct, nil
}

// firstActive is the first active case type (12345 orders whose category
// maps to no active type land there).
func (s *Service) firstActive(ctx context.Context) (CaseType, error) {
	all, err := s.CaseTypes(ctx)
	if err != nil {
		return CaseType{}, err
	}
	for _, ct := range all {
		if ct.Active {
			return ct, nil
		}
	}
	return CaseType{}, invalid("type", "no active case type")
}
