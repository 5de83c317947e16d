package signaling

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"pingan/internal/auth"
	"pingan/media"
	"pingan/media/webrtc"
)

// StreamAccess decides whether a principal may watch a stream (role, region
// scope, room membership). The hub supplies it.
type StreamAccess interface {
	CanRead(p auth.Principal, id media.StreamID) bool
}

// StreamAccessFunc adapts a function to StreamAccess.
type StreamAccessFunc func(p auth.Principal, id media.StreamID) bool

// CanRead calls f.
func (f StreamAccessFunc) CanRead(p auth.Principal, id media.StreamID) bool { return f(p, id) }

// whepStreams is what WHEP needs from the media hub.
type whepStreams interface {
	Subscribe(ctx context.Context, id media.StreamID, opts media.ReaderOptions) (*media.Reader, error)
}

// whepEngine is what WHEP needs from the WebRTC engine.
type whepEngine interface {
	NewWHEPSession(ctx context.Context, offerSDP string, r webrtc.Reader) (*webrtc.Session, string, error)
}

// WHEPAPI serves WHEP egress (RFC 9725-style signaling, draft-ietf-wish-whep):
// POST an SDP offer to /whep/{stream}, get the answer and a session resource
// to DELETE. The answer carries every server candidate; the viewer may
// trickle its own with PATCH (trickle.go); ICE restarts get 422.
type WHEPAPI struct {
	Streams whepStreams
	Engine  whepEngine
	Access  StreamAccess
	// Context bounds every session's life (the server's run context);
	// nil means context.Background().
	Context context.Context
	// SubscribeTimeout bounds the wait for a stream's first media (default 10 s).
	SubscribeTimeout time.Duration
	// AllowOrigin, when set, is sent as Access-Control-Allow-Origin so
	// players on another origin may use WHEP ("*" or one origin); empty
	// keeps WHEP same-origin.
	AllowOrigin string
	Logger      *slog.Logger

	sessions sdpSessions[*webrtc.Session]
}

// Routes registers the WHEP endpoints. Room guests may use them; Access
// decides what each principal may watch.
func (a *WHEPAPI) Routes(rt *Router) {
	a.sessions.kind = "WHEP" // set once, before any request can read it
	rt.AllowGuest("POST /whep/{stream...}", a.post)
	rt.AllowGuest("DELETE /whep/sessions/{id}", a.delete)
	rt.AllowGuest("PATCH /whep/sessions/{id}", a.patch)
	rt.Public("OPTIONS /whep/{path...}", a.options)
}

func (a *WHEPAPI) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

func (a *WHEPAPI) post(w http.ResponseWriter, r *http.Request) {
	sdpCORS(w, a.AllowOrigin)
	p, _ := PrincipalFrom(r.Context())
	id := media.StreamID(r.PathValue("stream"))
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		WriteError(w, r, Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "the offer must be application/sdp"))
		return
	}
	if id == "" || strings.HasPrefix(string(id), "sessions/") {
		WriteError(w, r, Errorf(http.StatusNotFound, "not_found", "no stream named %q", id))
		return
	}
	if a.Access == nil || !a.Access.CanRead(p, id) {
		WriteError(w, r, Errorf(http.StatusForbidden, "forbidden", "stream %q is outside your scope", id))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteError(w, r, Errorf(http.StatusRequestEntityTooLarge, "too_large", "offer over %d bytes", mbe.Limit))
			return
		}
		WriteError(w, r, Errorf(http.StatusBadRequest, "malformed", "reading the offer: %v", err))
		return
	}
	offer := string(body)
	if err := webrtc.ValidateOffer(offer); err != nil {
		WriteError(w, r, Errorf(http.StatusBadRequest, "bad_offer", "%v", err))
		return
	}
	reader, err := a.subscribe(r.Context(), id)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	s, answer, err := a.Engine.NewWHEPSession(a.baseContext(), offer, reader)
	if err != nil {
		WriteError(w, r, sessionError(err))
		return
	}
	a.add(s, roomUser(p))
	a.log().Info("whep viewer", "stream", id, "user", p.Username, "session", s.ID(), "skipped", s.Skipped())
	loc := "/whep/sessions/" + s.ID()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", loc)
	w.Header().Set("ETag", `"`+s.ID()+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

func (a *WHEPAPI) subscribe(ctx context.Context, id media.StreamID) (*media.Reader, error) {
	d := a.SubscribeTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	reader, err := a.Streams.Subscribe(ctx, id, media.ReaderOptions{})
	switch {
	case err == nil:
		return reader, nil
	case errors.Is(err, media.ErrNotFound):
		return nil, Errorf(http.StatusNotFound, "not_found", "no stream named %q", id)
	case errors.Is(err, media.ErrNotReady), errors.Is(err, context.DeadlineExceeded):
		return nil, Errorf(http.StatusServiceUnavailable, "not_ready", "stream %q has no media yet; retry shortly", id)
	case errors.Is(err, media.ErrClosed):
		return nil, Errorf(http.StatusServiceUnavailable, "unavailable", "the media hub is shutting down")
	}
	return nil, err
}

func sessionError(err error) error {
	switch {
	case errors.Is(err, webrtc.ErrBadOffer):
		return Errorf(http.StatusBadRequest, "bad_offer", "%v", err)
	case errors.Is(err, webrtc.ErrNoTracks):
		return Errorf(http.StatusBadRequest, "no_compatible_tracks", "%v", err)
	case errors.Is(err, webrtc.ErrClosed):
		return Errorf(http.StatusServiceUnavailable, "unavailable", "the WebRTC engine is shutting down")
	}
	return err
}

func (a *WHEPAPI) baseContext() context.Context {
	if a.Context != nil {
		return a.Context
	}
	return context.Background()
}

func (a *WHEPAPI) add(s *webrtc.Session, owner string) {
	a.sessions.add(s, owner)
}

func (a *WHEPAPI) delete(w http.ResponseWriter, r *http.Request) {
	a.sessions.delete(w, r, a.AllowOrigin, http.StatusNoContent)
}

func (a *WHEPAPI) patch(w http.ResponseWriter, r *http.Request) {
	a.sessions.patch(w, r, a.AllowOrigin)
}

func (a *WHEPAPI) options(w http.ResponseWriter, r *http.Request) { sdpOptions(w, r, a.AllowOrigin) }

// Sessions is the number of live WHEP sessions.
func (a *WHEPAPI) Sessions() int { return a.sessions.len() }
