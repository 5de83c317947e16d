package signaling

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"pingan/dispatch"
)

// dispatchError maps a dispatch error to an API error by its kind
// (dispatch.KindOf): 404 not found or out of scope, 403 role, 401 intake
// signature, 409 stale version (details.current_version) or illegal
// transition (details.allowed, details.state), 422 validation
// (details.field), 503 unavailable. Anything else stays an internal error,
// logged by WriteError and shown as a plain 500.
func dispatchError(err error) error {
	kind := dispatch.KindOf(err)
	status := kind.Status()
	var (
		stale *dispatch.StaleError
		state *dispatch.StateError
		val   *dispatch.ValidationError
	)
	switch kind {
	case "":
		return nil
	case dispatch.KindNotFound:
		return ErrNotFound
	case dispatch.KindForbidden:
		return ErrForbidden
	case dispatch.KindUnauthorized:
		return Errorf(status, string(kind), "%s", trimDispatch(err))
	case dispatch.KindStale:
		if errors.As(err, &stale) {
			e := Errorf(status, string(kind), "the case changed: current version is %d; reload and retry", stale.Current)
			e.Details = map[string]any{"current_version": stale.Current}
			return e
		}
	case dispatch.KindState:
		if errors.As(err, &state) {
			e := Errorf(status, string(kind), "%s is not allowed in state %s", state.Action, state.State)
			e.Details = map[string]any{"allowed": nonNil(state.Allowed), "state": state.State}
			return e
		}
	case dispatch.KindInvalid:
		if errors.As(err, &val) {
			e := Errorf(status, string(kind), "%s: %s", val.Field, val.Message)
			e.Details = map[string]any{"field": val.Field}
			return e
		}
	case dispatch.KindUnavailable:
		return Errorf(status, string(kind), "%s", trimDispatch(err))
	}
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// trimDispatch drops the "dispatch: " prefix from an error's text.
func trimDispatch(err error) string {
	msg, _ := strings.CutPrefix(err.Error(), "dispatch: ")
	return msg
}

// dispatchParamError is a 422 about a query parameter.
func dispatchParamError(name, format string, args ...any) *Error {
	e := Errorf(http.StatusUnprocessableEntity, string(dispatch.KindInvalid), "%s: %s", name, fmt.Sprintf(format, args...))
	e.Details = map[string]any{"field": name}
	return e
}

// dispatchIntParam parses an optional integer query parameter in [lo, hi]
// (absent = 0).
func dispatchIntParam(r *http.Request, name string, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, dispatchParamError(name, "want an integer from %d to %d", lo, hi)
	}
	return n, nil
}
