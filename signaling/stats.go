package signaling

import (
	"context"
	"net/http"
	"time"

	"pingan/dispatch"
	"pingan/internal/auth"
)

// statsService is what StatsAPI needs of dispatch (*dispatch.Service).
type statsService interface {
	Stats(ctx context.Context, p auth.Principal, q dispatch.StatsQuery) (*dispatch.StatsReport, error)
	Snapshot(ctx context.Context, p auth.Principal, month string) (*dispatch.Snapshot, error)
}

// StatsAPI serves the bulletin statistics and month snapshots (frozen
// numbers that do not drift).
type StatsAPI struct {
	svc statsService
	// Location is the center's time zone for date-only from/to values
	// (YYYY-MM-DD); nil = UTC.
	Location *time.Location
}

// NewStatsAPI builds the statistics API on svc.
func NewStatsAPI(svc statsService) *StatsAPI { return &StatsAPI{svc: svc} }

// Routes registers the endpoints.
func (a *StatsAPI) Routes(rt *Router) {
	readers := []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader}
	rt.Handle("GET /api/v1/stats", a.stats, readers...)
	rt.Handle("POST /api/v1/stats/snapshots", a.snapshot, auth.RoleAdmin, auth.RoleLeader)
	rt.Handle("GET /api/v1/stats/snapshots/{month}", a.frozen, readers...)
}

// stats answers GET /api/v1/stats?from=&to=&month=&region=&group_by=.
// from and to are RFC 3339 times or YYYY-MM-DD dates in the center's zone
// (to exclusive); month (YYYY-MM) overrides them.
func (a *StatsAPI) stats(w http.ResponseWriter, r *http.Request) {
	q, err := a.query(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	q.Month = r.URL.Query().Get("month")
	rep, err := a.svc.Stats(r.Context(), caller(r), q)
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	WriteJSON(w, http.StatusOK, rep)
}

// frozen answers GET /api/v1/stats/snapshots/{month}: the month's frozen
// numbers (region and group_by may narrow them), or 404 when the month was
// never frozen.
func (a *StatsAPI) frozen(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	q := dispatch.StatsQuery{Month: r.PathValue("month"), Region: qv.Get("region"), GroupBy: qv.Get("group_by")}
	rep, err := a.svc.Stats(r.Context(), caller(r), q)
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	if !rep.Frozen {
		WriteError(w, r, Errorf(http.StatusNotFound, "not_found", "month %s has no snapshot", q.Month))
		return
	}
	WriteJSON(w, http.StatusOK, rep)
}

// snapshotRequest is the body of POST /api/v1/stats/snapshots.
type snapshotRequest struct {
	Month string `json:"month"`
}

// snapshot freezes a month: 201 when taken now, 200 with the first
// snapshot when the month was already frozen.
func (a *StatsAPI) snapshot(w http.ResponseWriter, r *http.Request) {
	var req snapshotRequest
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	snap, err := a.svc.Snapshot(r.Context(), caller(r), req.Month)
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	status := http.StatusCreated
	if snap.Existing {
		status = http.StatusOK
	}
	WriteJSON(w, status, snap)
}

func (a *StatsAPI) query(r *http.Request) (dispatch.StatsQuery, error) {
	qv := r.URL.Query()
	q := dispatch.StatsQuery{Region: qv.Get("region"), GroupBy: qv.Get("group_by")}
	var err error
	if q.From, err = a.parseTime("from", qv.Get("from")); err != nil {
		return q, err
	}
	if q.To, err = a.parseTime("to", qv.Get("to")); err != nil {
		return q, err
	}
	return q, nil
}

// parseTime reads an RFC 3339 time or a YYYY-MM-DD date (midnight in the
// center's zone); "" is the zero time.
func (a *StatsAPI) parseTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	loc := a.Location
	if loc == nil {
		loc = time.UTC
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, dispatchParamError(name, "want an RFC 3339 time or YYYY-MM-DD")
}
