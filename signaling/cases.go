package signaling

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"pingan/dispatch"
	"pingan/internal/auth"
)

// caseService is what CasesAPI needs of dispatch (*dispatch.Service).
type caseService interface {
	Create(ctx context.Context, p auth.Principal, nc dispatch.NewCase) (*dispatch.Case, error)
	Get(ctx context.Context, p auth.Principal, code dispatch.CaseID) (*dispatch.Case, error)
	List(ctx context.Context, p auth.Principal, f dispatch.Filter) ([]*dispatch.Case, string, error)
	Transition(ctx context.Context, p auth.Principal, code dispatch.CaseID, req dispatch.TransitionRequest) (*dispatch.Case, error)
}

// caseAuditor records case transitions (*auth.Service; DESIGN decision 13).
type caseAuditor interface {
	Audit(ctx context.Context, e auth.Entry) error
}

// caseRoles may read cases and the event log; trainers and trainees may not.
var caseRoles = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader, auth.RoleMediator,
	auth.RoleGrid, auth.RoleIntegration}

// CasesAPI serves cases (一案一码), their workflow transitions and QR
// codes (case types: CaseTypesAPI). Cases outside the caller's region
// scope are 404.
type CasesAPI struct {
	svc caseService
	// PublicURL is the console's address for QR links; "" = the request's origin.
	PublicURL string
	// Audit, when set, records every transition.
	Audit caseAuditor
}

// NewCasesAPI builds the cases API on svc.
func NewCasesAPI(svc caseService) *CasesAPI { return &CasesAPI{svc: svc} }

// Routes registers the endpoints. Each workflow action's role is checked
// by dispatch (Workflow table); the routes admit every case role.
func (a *CasesAPI) Routes(rt *Router) {
	rt.Handle("POST /api/v1/cases", a.create, caseRoles...)
	rt.Handle("GET /api/v1/cases", a.list, caseRoles...)
	rt.Handle("GET /api/v1/cases/{code}", a.get, caseRoles...)
	rt.Handle("POST /api/v1/cases/{code}/transitions", a.transition, caseRoles...)
	rt.Handle("GET /api/v1/cases/{code}/qr.png", a.qr, caseRoles...)
}

// caseView is a case plus the actions the caller may take on it now.
type caseView struct {
	*dispatch.Case
	AllowedActions []string `json:"allowed_actions"`
}

// casePage is the answer of GET /api/v1/cases.
type casePage struct {
	Cases      []*dispatch.Case `json:"cases"`
	NextCursor string           `json:"next_cursor"`
}

func viewCase(p auth.Principal, c *dispatch.Case) caseView {
	return caseView{Case: c, AllowedActions: allowedFor(p, c)}
}

// allowedFor is the case's allowed actions (state) narrowed to those the
// caller's role may perform, so the console shows only usable buttons.
func allowedFor(p auth.Principal, c *dispatch.Case) []string {
	out := []string{}
	for _, act := range dispatch.AllowedActions(c) {
		i := slices.IndexFunc(dispatch.Workflow, func(r dispatch.Rule) bool { return string(r.Action) == act })
		if i >= 0 && p.Is(dispatch.Workflow[i].Roles...) {
			out = append(out, act)
		}
	}
	return out
}

func (a *CasesAPI) create(w http.ResponseWriter, r *http.Request) {
	var nc dispatch.NewCase
	if err := DecodeJSON(r, &nc); err != nil {
		WriteError(w, r, err)
		return
	}
	p := caller(r)
	c, err := a.svc.Create(r.Context(), p, nc)
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	status := http.StatusCreated
	if c.Existing {
		status = http.StatusOK
	}
	WriteJSON(w, status, viewCase(p, c))
}

func (a *CasesAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := dispatch.Filter{State: dispatch.State(q.Get("state")), Colour: dispatch.Colour(q.Get("colour")),
		Type: q.Get("type"), Region: q.Get("region"), Q: q.Get("q"), Cursor: q.Get("cursor")}
	if f.State != "" && !slices.Contains(dispatch.States, f.State) {
		WriteError(w, r, dispatchParamError("state", "unknown state %q", f.State))
		return
	}
	switch f.Colour {
	case "", dispatch.Green, dispatch.Yellow, dispatch.Red:
	default:
		WriteError(w, r, dispatchParamError("colour", "want green, yellow or red"))
		return
	}
	limit, err := dispatchIntParam(r, "limit", 0, 500)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	f.Limit = limit
	cases, next, err := a.svc.List(r.Context(), caller(r), f)
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	WriteJSON(w, http.StatusOK, casePage{Cases: cases, NextCursor: next})
}

func (a *CasesAPI) get(w http.ResponseWriter, r *http.Request) {
	p := caller(r)
	c, err := a.svc.Get(r.Context(), p, dispatch.CaseID(r.PathValue("code")))
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	WriteJSON(w, http.StatusOK, viewCase(p, c))
}

func (a *CasesAPI) transition(w http.ResponseWriter, r *http.Request) {
	var req dispatch.TransitionRequest
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	p := caller(r)
	code := dispatch.CaseID(r.PathValue("code"))
	c, err := a.svc.Transition(r.Context(), p, code, req)
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	a.audit(r, p, c, req)
	WriteJSON(w, http.StatusOK, viewCase(p, c))
}

func (a *CasesAPI) audit(r *http.Request, p auth.Principal, c *dispatch.Case, req dispatch.TransitionRequest) {
	if a.Audit == nil {
		return
	}
	detail := fmt.Sprintf("%s → %s (version %d)", req.Action, c.State, c.Version)
	if req.Department != "" {
		detail += " department=" + string(req.Department)
	}
	e := auth.Entry{Time: time.Now().UTC(), Actor: p.Username, Action: "case.transition",
		Target: string(c.Code), Region: c.Region, Source: r.RemoteAddr, Detail: detail}
	if err := a.Audit.Audit(r.Context(), e); err != nil {
		slog.Default().Warn("audit entry not written", "action", e.Action, "case", c.Code, "err", err)
	}
}

func (a *CasesAPI) qr(w http.ResponseWriter, r *http.Request) {
	c, err := a.svc.Get(r.Context(), caller(r), dispatch.CaseID(r.PathValue("code")))
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	base := a.PublicURL
	if base == "" {
		base = qrOrigin(r)
	}
	png, err := dispatch.QRPNG(c.Code, base)
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	_, _ = w.Write(png)
}

// qrOrigin is scheme://host as the client reached the hub.
func qrOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
