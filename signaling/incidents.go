package signaling

import (
	"context"
	"net/http"
	"strconv"

	"pingan/dispatch"
	"pingan/internal/auth"
)

// incidentService is what IncidentsAPI needs of dispatch (*dispatch.Service).
type incidentService interface {
	CreateIncident(ctx context.Context, p auth.Principal, ni dispatch.NewIncident) (*dispatch.Incident, error)
	Incident(ctx context.Context, p auth.Principal, id dispatch.IncidentID) (*dispatch.Incident, error)
	Incidents(ctx context.Context, p auth.Principal, openOnly bool, limit int) ([]*dispatch.Incident, error)
	CloseIncident(ctx context.Context, p auth.Principal, id dispatch.IncidentID) (*dispatch.Incident, error)
	PinStream(ctx context.Context, p auth.Principal, id dispatch.IncidentID, stream string) (*dispatch.Incident, error)
	UnpinStream(ctx context.Context, p auth.Principal, id dispatch.IncidentID, stream string) (*dispatch.Incident, error)
	Summon(ctx context.Context, p auth.Principal, id dispatch.IncidentID, depts []dispatch.DepartmentID) (*dispatch.Incident, error)
	CheckIn(ctx context.Context, p auth.Principal, id dispatch.IncidentID, dept dispatch.DepartmentID) (*dispatch.Incident, error)
	NearbyCameras(ctx context.Context, p auth.Principal, id dispatch.IncidentID, radius float64) ([]dispatch.NearbyCamera, error)
}

// Roles for incidents: the command center commands; mediators (and the
// departments' users) check in.
var (
	incidentViewers    = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader, auth.RoleMediator}
	incidentCommanders = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader}
)

// defaultCameraRadius is the nearby-cameras radius when none is given, in meters.
const defaultCameraRadius = 500

// IncidentsAPI serves incidents (指挥事件): open and close, pinned camera
// streams, summoned departments (吹哨) and their check-ins (报到), and the
// cameras near the scene.
type IncidentsAPI struct {
	svc incidentService
}

// NewIncidentsAPI builds the incidents API on svc.
func NewIncidentsAPI(svc incidentService) *IncidentsAPI { return &IncidentsAPI{svc: svc} }

// Routes registers the endpoints.
func (a *IncidentsAPI) Routes(rt *Router) {
	rt.Handle("POST /api/v1/incidents", a.create, incidentCommanders...)
	rt.Handle("GET /api/v1/incidents", a.list, incidentViewers...)
	rt.Handle("GET /api/v1/incidents/{id}", a.get, incidentViewers...)
	rt.Handle("POST /api/v1/incidents/{id}/close", a.close, incidentCommanders...)
	rt.Handle("POST /api/v1/incidents/{id}/pins", a.pin, incidentCommanders...)
	rt.Handle("DELETE /api/v1/incidents/{id}/pins/{stream...}", a.unpin, incidentCommanders...)
	rt.Handle("POST /api/v1/incidents/{id}/summons", a.summon, incidentCommanders...)
	rt.Handle("POST /api/v1/incidents/{id}/checkins", a.checkIn, incidentViewers...)
	rt.Handle("GET /api/v1/incidents/{id}/nearby-cameras", a.nearby, incidentViewers...)
}

func incidentID(r *http.Request) dispatch.IncidentID { return dispatch.IncidentID(r.PathValue("id")) }

// writeIncident answers with the incident or the mapped error.
func writeIncident(w http.ResponseWriter, r *http.Request, status int, in *dispatch.Incident, err error) {
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	WriteJSON(w, status, in)
}

func (a *IncidentsAPI) create(w http.ResponseWriter, r *http.Request) {
	var ni dispatch.NewIncident
	if err := DecodeJSON(r, &ni); err != nil {
		WriteError(w, r, err)
		return
	}
	in, err := a.svc.CreateIncident(r.Context(), caller(r), ni)
	writeIncident(w, r, http.StatusCreated, in, err)
}

func (a *IncidentsAPI) list(w http.ResponseWriter, r *http.Request) {
	limit, err := dispatchIntParam(r, "limit", 0, 500)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	openOnly := false
	switch s := r.URL.Query().Get("state"); s {
	case "", "all":
	case dispatch.IncidentOpen:
		openOnly = true
	default:
		WriteError(w, r, dispatchParamError("state", "want open or all"))
		return
	}
	list, err := a.svc.Incidents(r.Context(), caller(r), openOnly, limit)
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"incidents": list})
}

func (a *IncidentsAPI) get(w http.ResponseWriter, r *http.Request) {
	in, err := a.svc.Incident(r.Context(), caller(r), incidentID(r))
	writeIncident(w, r, http.StatusOK, in, err)
}

func (a *IncidentsAPI) close(w http.ResponseWriter, r *http.Request) {
	in, err := a.svc.CloseIncident(r.Context(), caller(r), incidentID(r))
	writeIncident(w, r, http.StatusOK, in, err)
}

// pinRequest is the body of POST /api/v1/incidents/{id}/pins.
type pinRequest struct {
	Stream string `json:"stream"`
}

func (a *IncidentsAPI) pin(w http.ResponseWriter, r *http.Request) {
	var req pinRequest
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	in, err := a.svc.PinStream(r.Context(), caller(r), incidentID(r), req.Stream)
	writeIncident(w, r, http.StatusOK, in, err)
}

func (a *IncidentsAPI) unpin(w http.ResponseWriter, r *http.Request) {
	in, err := a.svc.UnpinStream(r.Context(), caller(r), incidentID(r), r.PathValue("stream"))
	writeIncident(w, r, http.StatusOK, in, err)
}

// summonRequest is the body of POST /api/v1/incidents/{id}/summons (吹哨).
type summonRequest struct {
	Departments []dispatch.DepartmentID `json:"departments"`
}

func (a *IncidentsAPI) summon(w http.ResponseWriter, r *http.Request) {
	var req summonRequest
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	in, err := a.svc.Summon(r.Context(), caller(r), incidentID(r), req.Departments)
	writeIncident(w, r, http.StatusOK, in, err)
}

// checkInRequest is the body of POST /api/v1/incidents/{id}/checkins (报到).
type checkInRequest struct {
	Department dispatch.DepartmentID `json:"department"`
}

func (a *IncidentsAPI) checkIn(w http.ResponseWriter, r *http.Request) {
	var req checkInRequest
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	in, err := a.svc.CheckIn(r.Context(), caller(r), incidentID(r), req.Department)
	writeIncident(w, r, http.StatusOK, in, err)
}

func (a *IncidentsAPI) nearby(w http.ResponseWriter, r *http.Request) {
	radius := float64(defaultCameraRadius)
	if s := r.URL.Query().Get("radius"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			WriteError(w, r, dispatchParamError("radius", "want meters, 1 to %d", dispatch.MaxRadius))
			return
		}
		radius = v
	}
	cams, err := a.svc.NearbyCameras(r.Context(), caller(r), incidentID(r), radius)
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"radius": radius, "cameras": cams})
}
