package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"pingan/internal/auth"
)

// Error is an API error: written as {"error":{"code","message"}} with Status.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Details carries extra machine-readable fields (e.g. allowed actions).
	Details map[string]any `json:"details,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an API error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common API errors.
var (
	ErrUnauthorized = Errorf(http.StatusUnauthorized, "unauthorized", "a valid token is required")
	ErrForbidden    = Errorf(http.StatusForbidden, "forbidden", "your role does not allow this")
	ErrNotFound     = Errorf(http.StatusNotFound, "not_found", "no such resource")
)

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteError writes err as a JSON API error. An *Error keeps its status;
// anything else is a 500 whose detail is logged, not shown.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *Error
	if !errors.As(err, &ae) {
		slog.Default().Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = Errorf(http.StatusInternalServerError, "internal", "internal error")
	}
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pingan"`)
	}
	WriteJSON(w, ae.Status, map[string]*Error{"error": ae})
}

// DecodeJSON reads the request body into v: 413 past the body limit, 400 for
// malformed JSON, unknown fields or trailing data.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body over %d bytes", mbe.Limit)
		case errors.Is(err, io.EOF):
			return Errorf(http.StatusBadRequest, "malformed", "empty request body")
		default:
			return Errorf(http.StatusBadRequest, "malformed", "bad JSON: %v", err)
		}
	}
	if dec.More() {
		return Errorf(http.StatusBadRequest, "malformed", "trailing data after the JSON value")
	}
	return nil
}

// Authenticator turns a bearer token (login token, API key or join token)
// into a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Principal, error)
}

type principalKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the authenticated caller of a request.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// TokenCookie is the cookie the console may use instead of the header.
const TokenCookie = "pingan_token"

// BearerToken finds the caller's token: the Authorization header, then the
// cookie, then (for GET only, so <img>/<video>/WebSocket can authenticate) the
// access_token query parameter.
func BearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	if c, err := r.Cookie(TokenCookie); err == nil && c.Value != "" {
		return c.Value
	}
	if r.Method == http.MethodGet {
		return r.URL.Query().Get("access_token")
	}
	return ""
}
