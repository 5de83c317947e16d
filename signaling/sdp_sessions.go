package signaling

import (
	"net/http"
	"strings"
	"sync"

	"pingan/internal/auth"
)

// sdpSession is a WHIP or WHEP session resource (RFC 9725 §4.3).
type sdpSession interface {
	ID() string
	Close()
	OnClose(func())
}

// sdpSessions is the table of live WHIP or WHEP sessions with their
// owners; a session leaves the table when it closes.
type sdpSessions[S sdpSession] struct {
	kind string // "WHIP" or "WHEP", for errors

	mu sync.Mutex
	m  map[string]ownedSession[S]
}

type ownedSession[S sdpSession] struct {
	s     S
	owner string
}

func (t *sdpSessions[S]) add(s S, owner string) {
	t.mu.Lock()
	if t.m == nil {
		t.m = map[string]ownedSession[S]{}
	}
	t.m[s.ID()] = ownedSession[S]{s: s, owner: owner}
	t.mu.Unlock()
	s.OnClose(func() {
		t.mu.Lock()
		delete(t.m, s.ID())
		t.mu.Unlock()
	})
}

// lookup finds the session named in the path that the caller may control:
// its creator or an admin. Others get 404, so session ids do not leak.
func (t *sdpSessions[S]) lookup(r *http.Request) (S, error) {
	p, _ := PrincipalFrom(r.Context())
	t.mu.Lock()
	e, ok := t.m[r.PathValue("id")]
	t.mu.Unlock()
	if !ok || (e.owner != p.Username && !p.Is(auth.RoleAdmin)) {
		var zero S
		return zero, Errorf(http.StatusNotFound, "not_found", "no such %s session", t.kind)
	}
	return e.s, nil
}

func (t *sdpSessions[S]) all() []S {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]S, 0, len(t.m))
	for _, e := range t.m {
		out = append(out, e.s)
	}
	return out
}

func (t *sdpSessions[S]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// delete ends the caller's session (DELETE on the session URL).
func (t *sdpSessions[S]) delete(w http.ResponseWriter, r *http.Request, allowOrigin string, status int) {
	sdpCORS(w, allowOrigin)
	s, err := t.lookup(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	s.Close()
	w.WriteHeader(status)
}

// patch refuses trickle ICE and ICE restarts (RFC 9725 allows 405): every
// answer carries all of the server's candidates.
func (t *sdpSessions[S]) patch(w http.ResponseWriter, r *http.Request) {
	if _, err := t.lookup(r); err != nil {
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Allow", "DELETE, OPTIONS")
	WriteError(w, r, Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "trickle ICE is not supported; the answer carries every candidate"))
}

// sdpOptions answers CORS preflights and capability probes on an endpoint
// ("POST") or a session URL under sessions/ ("DELETE").
func sdpOptions(w http.ResponseWriter, r *http.Request, allowOrigin string) {
	h := w.Header()
	if strings.HasPrefix(r.PathValue("path"), "sessions/") {
		h.Set("Allow", "DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Methods", "DELETE, OPTIONS")
	} else {
		h.Set("Allow", "POST, OPTIONS")
		h.Set("Accept-Post", "application/sdp")
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	}
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	sdpCORS(w, allowOrigin)
	w.WriteHeader(http.StatusNoContent)
}

func sdpCORS(w http.ResponseWriter, allowOrigin string) {
	if allowOrigin == "" {
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", allowOrigin)
	w.Header().Set("Access-Control-Expose-Headers", "Location, ETag")
	w.Header().Add("Vary", "Origin")
}
