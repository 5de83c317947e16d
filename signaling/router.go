package signaling

import (
	"net/http"

	"pingan/internal/auth"
)

// Router is the hub's HTTP mux with authentication built in. Areas register
// their routes on it; every route except Public ones requires a principal.
type Router struct {
	mux     *http.ServeMux
	auth    Authenticator
	maxBody int64
	routes  []string
}

// NewRouter builds a router that authenticates with a and limits bodies to maxBody bytes.
func NewRouter(a Authenticator, maxBody int64) *Router {
	return &Router{mux: http.NewServeMux(), auth: a, maxBody: maxBody}
}

// Routes lists registered patterns (the OpenAPI test compares them with docs/openapi.yaml).
func (rt *Router) Routes() []string { return rt.routes }

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.mux.ServeHTTP(w, r) }

// Public registers a route that needs no token.
func (rt *Router) Public(pattern string, h http.HandlerFunc) {
	rt.routes = append(rt.routes, pattern)
	rt.mux.Handle(pattern, rt.limit(h))
}

// Handle registers a route for authenticated callers. With roles, only those
// roles may call it (403 for others); with none, any authenticated role may.
// Guests holding a room join token are refused unless AllowGuest is used.
func (rt *Router) Handle(pattern string, h http.HandlerFunc, roles ...auth.Role) {
	rt.routes = append(rt.routes, pattern)
	rt.mux.Handle(pattern, rt.limit(rt.require(h, false, roles)))
}

// AllowGuest registers a route that room guests (join tokens) may call too;
// the handler must check Principal.Room itself.
func (rt *Router) AllowGuest(pattern string, h http.HandlerFunc, roles ...auth.Role) {
	rt.routes = append(rt.routes, pattern)
	rt.mux.Handle(pattern, rt.limit(rt.require(h, true, roles)))
}

// Raw registers an http.Handler as is (static files); no authentication.
func (rt *Router) Raw(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, h)
}

func (rt *Router) limit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, rt.maxBody)
		}
		h.ServeHTTP(w, r)
	})
}

func (rt *Router) require(h http.HandlerFunc, guestOK bool, roles []auth.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := BearerToken(r)
		if tok == "" {
			WriteError(w, r, ErrUnauthorized)
			return
		}
		p, err := rt.auth.Authenticate(r.Context(), tok)
		if err != nil {
			WriteError(w, r, AuthError(err))
			return
		}
		if p.Room != "" && !guestOK {
			WriteError(w, r, ErrForbidden)
			return
		}
		if len(roles) > 0 && !p.Is(roles...) {
			WriteError(w, r, ErrForbidden)
			return
		}
		h(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}
