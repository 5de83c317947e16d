package signaling

import (
	"context"
	"net/http"

	"pingan/dispatch"
	"pingan/internal/auth"
)

// departmentService is what DepartmentsAPI needs of dispatch (*dispatch.Service).
type departmentService interface {
	CreateDepartment(ctx context.Context, p auth.Principal, d dispatch.Department) (*dispatch.Department, error)
	Departments(ctx context.Context, p auth.Principal) ([]dispatch.Department, error)
}

// DepartmentsAPI serves the departments cases are routed to and incidents
// summon: everyone who works cases lists them; admins and leaders add them.
type DepartmentsAPI struct {
	svc departmentService
}

// NewDepartmentsAPI builds the departments API on svc.
func NewDepartmentsAPI(svc departmentService) *DepartmentsAPI { return &DepartmentsAPI{svc: svc} }

// Routes registers the endpoints.
func (a *DepartmentsAPI) Routes(rt *Router) {
	rt.Handle("GET /api/v1/departments", a.list, caseRoles...)
	rt.Handle("POST /api/v1/departments", a.create, auth.RoleAdmin, auth.RoleLeader)
}

// newDepartment is the body of POST /api/v1/departments.
type newDepartment struct {
	ID     dispatch.DepartmentID `json:"id"`
	Name   string                `json:"name"`
	Region string                `json:"region"`
}

func (a *DepartmentsAPI) list(w http.ResponseWriter, r *http.Request) {
	ds, err := a.svc.Departments(r.Context(), caller(r))
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"departments": ds})
}

func (a *DepartmentsAPI) create(w http.ResponseWriter, r *http.Request) {
	var req newDepartment
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	d, err := a.svc.CreateDepartment(r.Context(), caller(r), dispatch.Department{ID: req.ID, Name: req.Name, Region: req.Region})
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	WriteJSON(w, http.StatusCreated, d)
}
