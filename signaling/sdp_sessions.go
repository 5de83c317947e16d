package signaling

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/auth"
)

// sdpSession is a WHIP or WHEP session resource (RFC 9725 §4.3).
type sdpSession interface {
	ID() string
	Close()
	OnClose(func())
	// AddICECandidate and RemoteICEUfrag serve trickle ICE (PATCH).
	AddICECandidate(c pwebrtc.ICECandidateInit) error
	RemoteICEUfrag() string
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
// its creator (the same user, or a guest with the same join token) or an
// admin. Others get 404 (forbidden403 false), so session ids do not leak,
// or 403.
func (t *sdpSessions[S]) lookup(r *http.Request, forbidden403 bool) (S, error) {
	p, _ := PrincipalFrom(r.Context())
	t.mu.Lock()
	e, ok := t.m[r.PathValue("id")]
	t.mu.Unlock()
	var zero S
	if !ok {
		return zero, Errorf(http.StatusNotFound, "not_found", "no such %s session", t.kind)
	}
	if e.owner != roomUser(p) && !p.Is(auth.RoleAdmin) {
		if forbidden403 {
			return zero, Errorf(http.StatusForbidden, "forbidden", "only the %s session's owner may do this", t.kind)
		}
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
	s, err := t.lookup(r, false)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	s.Close()
	w.WriteHeader(status)
}

// patch is trickle ICE (RFC 9725 §4.3.1): the body is an
// application/trickle-ice-sdpfrag whose candidates are added to the
// session; 204 on success. An If-Match other than the session's ETag gets
// 412; an ICE restart (If-Match: "*", or other ICE credentials) is not
// supported and gets 422, as RFC 9725 asks of trickle-only servers.
func (t *sdpSessions[S]) patch(w http.ResponseWriter, r *http.Request, allowOrigin string) {
	sdpCORS(w, allowOrigin)
	s, err := t.lookup(r, true)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != trickleFragType {
		w.Header().Set("Accept-Patch", trickleFragType)
		WriteError(w, r, Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be %s", trickleFragType))
		return
	}
	switch m := strings.TrimSpace(r.Header.Get("If-Match")); m {
	case "", `"` + s.ID() + `"`:
	case "*":
		WriteError(w, r, Errorf(http.StatusUnprocessableEntity, "ice_restart_unsupported", "ICE restarts are not supported; start a new session"))
		return
	default:
		WriteError(w, r, Errorf(http.StatusPreconditionFailed, "precondition_failed", "If-Match %s is not this session's ETag", m))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteError(w, r, Errorf(http.StatusRequestEntityTooLarge, "too_large", "fragment over %d bytes", mbe.Limit))
			return
		}
		WriteError(w, r, Errorf(http.StatusBadRequest, "malformed", "reading the fragment: %v", err))
		return
	}
	frag, err := parseTrickleFrag(string(body))
	if err != nil {
		WriteError(w, r, Errorf(http.StatusBadRequest, "bad_fragment", "%v", err))
		return
	}
	if frag.Ufrag != "" && frag.Ufrag != s.RemoteICEUfrag() {
		WriteError(w, r, Errorf(http.StatusUnprocessableEntity, "ice_restart_unsupported", "the fragment's ice-ufrag is not the session's; ICE restarts are not supported"))
		return
	}
	for _, c := range frag.candidates() {
		if err := s.AddICECandidate(c); err != nil {
			WriteError(w, r, Errorf(http.StatusBadRequest, "bad_candidate", "%v", err))
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// sdpOptions answers CORS preflights and capability probes on an endpoint
// ("POST") or a session URL under sessions/ ("DELETE").
func sdpOptions(w http.ResponseWriter, r *http.Request, allowOrigin string) {
	h := w.Header()
	if strings.HasPrefix(r.PathValue("path"), "sessions/") {
		h.Set("Allow", "PATCH, DELETE, OPTIONS")
		h.Set("Accept-Patch", trickleFragType)
		h.Set("Access-Control-Allow-Methods", "PATCH, DELETE, OPTIONS")
	} else {
		h.Set("Allow", "POST, OPTIONS")
		h.Set("Accept-Post", "application/sdp")
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	}
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
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
