package signaling

import (
	"context"
	"errors"
	"io"
	"net/http"

	"pingan/dispatch"
	"pingan/internal/auth"
)

// intakeService is what IntakeAPI needs of dispatch (*dispatch.Service).
type intakeService interface {
	Hotline(ctx context.Context, body []byte, timestamp, signature string) (*dispatch.IntakeResult, error)
	Grid(ctx context.Context, p auth.Principal, r dispatch.GridReport) (*dispatch.IntakeResult, error)
}

// Hotline intake headers: unix seconds, and the hex HMAC-SHA256 of
// timestamp + "." + body with dispatch.hotline.secret ("sha256=" prefix allowed).
const (
	HeaderIntakeTimestamp = "X-Pingan-Timestamp"
	HeaderIntakeSignature = "X-Pingan-Signature"
)

// maxIntakeBody bounds a 12345 work order's body.
const maxIntakeBody = 1 << 20

// IntakeAPI takes 12345 hotline work orders (signed, idempotent by
// work-order number) and grid workers' reports. Both answer with the case
// and the open look-alike cases nearby (duplicate suggestions): 201 for a
// new case, 200 when the work order (or the app's client_id) was already
// registered.
type IntakeAPI struct {
	svc intakeService
}

// NewIntakeAPI builds the intake API on svc.
func NewIntakeAPI(svc intakeService) *IntakeAPI { return &IntakeAPI{svc: svc} }

// Routes registers the endpoints. The hotline route carries no token: the
// 12345 platform authenticates with the signature headers instead.
func (a *IntakeAPI) Routes(rt *Router) {
	rt.Public("POST /api/v1/intake/hotline", a.hotline)
	rt.Handle("POST /api/v1/intake/grid", a.grid, auth.RoleGrid, auth.RoleAdmin)
}

func (a *IntakeAPI) hotline(w http.ResponseWriter, r *http.Request) {
	ts, sig := r.Header.Get(HeaderIntakeTimestamp), r.Header.Get(HeaderIntakeSignature)
	if ts == "" || sig == "" {
		WriteError(w, r, Errorf(http.StatusUnauthorized, string(dispatch.KindUnauthorized),
			"%s and %s headers are required", HeaderIntakeTimestamp, HeaderIntakeSignature))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxIntakeBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteError(w, r, Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body over %d bytes", mbe.Limit))
			return
		}
		WriteError(w, r, Errorf(http.StatusBadRequest, "malformed", "reading the body: %v", err))
		return
	}
	res, err := a.svc.Hotline(r.Context(), body, ts, sig)
	writeIntake(w, r, res, err)
}

func (a *IntakeAPI) grid(w http.ResponseWriter, r *http.Request) {
	var rep dispatch.GridReport
	if err := DecodeJSON(r, &rep); err != nil {
		WriteError(w, r, err)
		return
	}
	res, err := a.svc.Grid(r.Context(), caller(r), rep)
	writeIntake(w, r, res, err)
}

func writeIntake(w http.ResponseWriter, r *http.Request, res *dispatch.IntakeResult, err error) {
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	if res.Duplicates == nil {
		res.Duplicates = []dispatch.Duplicate{}
	}
	status := http.StatusCreated
	if res.Case.Existing {
		status = http.StatusOK
	}
	WriteJSON(w, status, res)
}
