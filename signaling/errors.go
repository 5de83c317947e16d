package signaling

import (
	"errors"
	"net/http"

	"pingan/internal/auth"
	"pingan/internal/store"
)

// AuthError maps an authentication failure to an API error.
func AuthError(err error) error {
	switch {
	case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrBadCredentials):
		return ErrUnauthorized
	case errors.Is(err, auth.ErrThrottled):
		return Errorf(http.StatusTooManyRequests, "throttled", "%v", err)
	case errors.Is(err, store.ErrUnavailable):
		return Errorf(http.StatusServiceUnavailable, "unavailable", "the store is unavailable, try again shortly")
	}
	return err
}

// StoreError maps store errors that reach the API edge.
func StoreError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, store.ErrConflict):
		return Errorf(http.StatusConflict, "conflict", "the resource changed; reload and retry")
	case errors.Is(err, store.ErrUnavailable):
		return Errorf(http.StatusServiceUnavailable, "unavailable", "the store is unavailable, try again shortly")
	}
	return err
}
