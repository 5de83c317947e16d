package dispatch

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"pingan/internal/store"
)

// Sentinel errors. Test with errors.Is; KindOf maps them to an HTTP status.
var (
	// ErrNotFound: no such record, or it lies outside the caller's scope
	// (so that existence does not leak).
	ErrNotFound = errors.New("dispatch: not found")
	// ErrForbidden: the caller's role may not do this.
	ErrForbidden = errors.New("dispatch: forbidden")
	// ErrUnauthorized: an intake request's signature or timestamp is wrong.
	ErrUnauthorized = errors.New("dispatch: bad signature or timestamp")
	// ErrIntakeDisabled: hotline intake has no secret configured.
	ErrIntakeDisabled = errors.New("dispatch: hotline intake disabled")
	// ErrNoCameraLocator: NearbyCameras was called before SetCameraLocator.
	ErrNoCameraLocator = errors.New("dispatch: no camera locator configured")
)

// StaleError is returned when the request's version is not the case's
// current version (HTTP 409).
type StaleError struct {
	Current uint64 `json:"current"`
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("dispatch: stale version, current is %d", e.Current)
}

// StateError is returned when an action is not allowed from the current
// state (HTTP 409). Allowed lists the actions that are.
type StateError struct {
	State   string   `json:"state"`
	Action  string   `json:"action"`
	Allowed []string `json:"allowed"`
}

func (e *StateError) Error() string {
	return fmt.Sprintf("dispatch: action %q not allowed in state %q (allowed: %s)",
		e.Action, e.State, strings.Join(e.Allowed, ", "))
}

// ValidationError names the request field that is wrong (HTTP 422).
type ValidationError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("dispatch: %s: %s", e.Field, e.Message)
}

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Kind is the HTTP-meaningful class of an error.
type Kind string

// Error kinds.
const (
	KindNotFound     Kind = "not_found"          // 404
	KindForbidden    Kind = "forbidden"          // 403
	KindUnauthorized Kind = "unauthorized"       // 401
	KindStale        Kind = "stale_version"      // 409
	KindState        Kind = "illegal_transition" // 409
	KindInvalid      Kind = "invalid"            // 422
	KindUnavailable  Kind = "unavailable"        // 503
	KindInternal     Kind = "internal"           // 500
)

// Status is the HTTP status for the kind.
func (k Kind) Status() int {
	switch k {
	case KindNotFound:
		return http.StatusNotFound
	case KindForbidden:
		return http.StatusForbidden
	case KindUnauthorized:
		return http.StatusUnauthorized
	case KindStale, KindState:
		return http.StatusConflict
	case KindInvalid:
		return http.StatusUnprocessableEntity
	case KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// KindOf classifies err (nil → "").
func KindOf(err error) Kind {
	var (
		stale *StaleError
		state *StateError
		val   *ValidationError
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotFound):
		return KindNotFound
	case errors.Is(err, ErrForbidden):
		return KindForbidden
	case errors.Is(err, ErrUnauthorized):
		return KindUnauthorized
	case errors.As(err, &stale):
		return KindStale
	case errors.As(err, &state):
		return KindState
	case errors.As(err, &val):
		return KindInvalid
	case errors.Is(err, ErrIntakeDisabled), errors.Is(err, ErrNoCameraLocator),
		errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrClosed):
		return KindUnavailable
	default:
		return KindInternal
	}
}
