package signaling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"pingan/configs"
	"pingan/dispatch"
	"pingan/internal/auth"
)

// Audit actions of case type changes (DESIGN decision 13).
const (
	ActionCaseTypeCreate = "casetype.create"
	ActionCaseTypeUpdate = "casetype.update"
)

// caseTypeBodyLimit bounds a case type request body.
const caseTypeBodyLimit = 16 << 10

// caseTypeService is what CaseTypesAPI needs of dispatch (*dispatch.Service).
type caseTypeService interface {
	CaseTypes(ctx context.Context) ([]dispatch.CaseType, error)
	SaveCaseType(ctx context.Context, p auth.Principal, ct dispatch.CaseType, create bool) (saved, prev dispatch.CaseType, err error)
}

// CaseTypesAPI serves the case types and their per-stage time limits:
// every case role reads them, admins create and edit them (admin pages).
type CaseTypesAPI struct {
	svc caseTypeService
	// Audit, when set, records every change.
	Audit caseAuditor
}

// NewCaseTypesAPI builds the case types API on svc.
func NewCaseTypesAPI(svc caseTypeService) *CaseTypesAPI { return &CaseTypesAPI{svc: svc} }

// Routes registers the endpoints.
func (a *CaseTypesAPI) Routes(rt *Router) {
	rt.Handle("GET /api/v1/case-types", a.list, caseRoles...)
	rt.Handle("POST /api/v1/case-types", a.create, auth.RoleAdmin)
	rt.Handle("PUT /api/v1/case-types/{id}", a.update, auth.RoleAdmin)
}

func (a *CaseTypesAPI) list(w http.ResponseWriter, r *http.Request) {
	types, err := a.svc.CaseTypes(r.Context())
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"case_types": types})
}

func (a *CaseTypesAPI) create(w http.ResponseWriter, r *http.Request) {
	a.save(w, r, true)
}

func (a *CaseTypesAPI) update(w http.ResponseWriter, r *http.Request) {
	a.save(w, r, false)
}

// save decodes the body (413 past 16 KB, 422 when invalid), writes the
// type and audits the change.
func (a *CaseTypesAPI) save(w http.ResponseWriter, r *http.Request, create bool) {
	body, err := readBody(w, r, caseTypeBodyLimit)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	ct, err := dispatch.DecodeCaseType(body)
	var ve *dispatch.ValidationError
	if errors.As(err, &ve) && ve.Field == "body" {
		WriteError(w, r, Errorf(http.StatusBadRequest, "malformed", "%s", ve.Message))
		return
	}
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	if !create && ct.ID != r.PathValue("id") {
		WriteError(w, r, Errorf(http.StatusUnprocessableEntity, "invalid", "id %q does not match the path", ct.ID))
		return
	}
	saved, prev, err := a.svc.SaveCaseType(r.Context(), caller(r), ct, create)
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	action, status := ActionCaseTypeUpdate, http.StatusOK
	if create {
		action, status = ActionCaseTypeCreate, http.StatusCreated
	}
	a.audit(r, action, saved.ID, caseTypeChange(prev, saved))
	WriteJSON(w, status, saved)
}

func (a *CaseTypesAPI) audit(r *http.Request, action, target, detail string) {
	if a.Audit == nil {
		return
	}
	e := auth.Entry{Time: time.Now().UTC(), Actor: caller(r).Username, Action: action,
		Target: target, Source: r.RemoteAddr, Detail: detail}
	if err := a.Audit.Audit(r.Context(), e); err != nil {
		slog.Default().Warn("audit entry not written", "action", action, "target", target, "err", err)
	}
}

// caseTypeChange describes what changed for the audit log, e.g.
// "handle 72h0m0s→48h0m0s; active true→false".
func caseTypeChange(prev, next dispatch.CaseType) string {
	var parts []string
	diff := func(what, a, b string) {
		if a != b {
			parts = append(parts, fmt.Sprintf("%s %s→%s", what, orDash(a), orDash(b)))
		}
	}
	diff("name", prev.Name, next.Name)
	diff("name_en", prev.NameEn, next.NameEn)
	for _, st := range configs.Stages {
		diff(st, limitText(prev.Limits, st), limitText(next.Limits, st))
	}
	if prev.ID != "" {
		diff("active", fmt.Sprint(prev.Active), fmt.Sprint(next.Active))
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

func limitText(m map[string]configs.Duration, stage string) string {
	if d, ok := m[stage]; ok {
		return d.String()
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readBody reads a request body of at most limit bytes; a longer one is a
// 413 API error.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body over %d bytes", mbe.Limit)
	case err != nil:
		return nil, Errorf(http.StatusBadRequest, "malformed", "reading the body: %v", err)
	}
	return body, nil
}
