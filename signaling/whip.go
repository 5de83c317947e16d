package signaling

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"

	"pingan/internal/auth"
	"pingan/media"
	"pingan/media/room"
	"pingan/media/webrtc"
)

// whipPublishRoles may publish streams over WHIP.
var whipPublishRoles = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleTrainer, auth.RoleIntegration}

// whipReserved are stream prefixes WHIP may not publish (sources of their own).
var whipReserved = []string{"gb/", "rtsp/", "room/", "demo/", "sessions/"}

// whipStreams is what WHIP needs from the media hub.
type whipStreams interface {
	Publish(id media.StreamID) (*media.Stream, error)
}

// whipEngine is what WHIP needs from the WebRTC engine.
type whipEngine interface {
	NewWHIPSession(ctx context.Context, offer string, opts webrtc.IngestOptions) (*webrtc.Ingest, string, error)
}

// WHIPAPI serves WHIP ingest (RFC 9725): POST an SDP offer (OBS 30+, a
// browser) to /whip/{stream} to publish a stream, or to /whip/room/{id}
// to publish into a room as a participant; DELETE the returned session
// resource to stop. The answer carries every server candidate; the client
// may trickle its own with PATCH (trickle.go); ICE restarts get 422.
type WHIPAPI struct {
	Streams whipStreams
	Engine  whipEngine
	Rooms   roomFinder
	// AllowOrigin, when set, is sent as Access-Control-Allow-Origin.
	AllowOrigin string
	Logger      *slog.Logger

	mu       sync.Mutex
	ctx      context.Context
	sessions sdpSessions[*webrtc.Ingest]
}

// Routes registers the WHIP endpoints.
func (a *WHIPAPI) Routes(rt *Router) {
	a.sessions.kind = "WHIP" // set once, before any request can read it
	rt.Handle("POST /whip/{stream...}", a.post, whipPublishRoles...)
	rt.AllowGuest("POST /whip/room/{id}", a.postRoom)
	rt.AllowGuest("DELETE /whip/sessions/{id}", a.delete)
	rt.AllowGuest("PATCH /whip/sessions/{id}", a.patch)
	rt.Public("OPTIONS /whip/{path...}", a.options)
}

// Run bounds every session by ctx (the hub's run context) and ends them
// all when it is done.
func (a *WHIPAPI) Run(ctx context.Context) error {
	a.mu.Lock()
	a.ctx = ctx
	a.mu.Unlock()
	<-ctx.Done()
	for _, in := range a.sessions.all() {
		in.Close()
	}
	return nil
}

func (a *WHIPAPI) baseContext() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx != nil {
		return a.ctx
	}
	return context.Background()
}

func (a *WHIPAPI) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// readOffer checks the content type and reads the SDP offer.
func readOffer(r *http.Request) (string, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		return "", Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "the offer must be application/sdp")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", Errorf(http.StatusRequestEntityTooLarge, "too_large", "offer over %d bytes", mbe.Limit)
		}
		return "", Errorf(http.StatusBadRequest, "malformed", "reading the offer: %v", err)
	}
	offer := string(body)
	if _, err := webrtc.ParsePublishOffer(offer); err != nil {
		return "", Errorf(http.StatusBadRequest, "bad_offer", "%v", err)
	}
	return offer, nil
}

func (a *WHIPAPI) post(w http.ResponseWriter, r *http.Request) {
	sdpCORS(w, a.AllowOrigin)
	p, _ := PrincipalFrom(r.Context())
	id := media.StreamID(r.PathValue("stream"))
	if id == "" || len(id) > 200 || strings.Contains(string(id), "..") {
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "bad stream name %q", id))
		return
	}
	for _, pre := range whipReserved {
		if strings.HasPrefix(string(id), pre) {
			WriteError(w, r, Errorf(http.StatusForbidden, "forbidden", "streams under %q cannot be published over WHIP", pre))
			return
		}
	}
	offer, err := readOffer(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	st, err := a.Streams.Publish(id)
	if err != nil {
		if errors.Is(err, media.ErrPublisherSet) {
			WriteError(w, r, Errorf(http.StatusConflict, "conflict", "stream %q already has a publisher", id))
			return
		}
		WriteError(w, r, err)
		return
	}
	in, answer, err := a.Engine.NewWHIPSession(a.baseContext(), offer, webrtc.IngestOptions{Stream: st})
	if err != nil {
		WriteError(w, r, sessionError(err))
		return
	}
	a.created(w, in, answer, roomUser(p), string(id))
}

// postRoom publishes into a room as a participant (a user token or the
// room's join token); the participant leaves when the session ends.
func (a *WHIPAPI) postRoom(w http.ResponseWriter, r *http.Request) {
	sdpCORS(w, a.AllowOrigin)
	p, _ := PrincipalFrom(r.Context())
	id := r.PathValue("id")
	rm, ok := a.Rooms.Get(room.ID(id))
	if !ok || (p.Room != "" && p.Room != id) {
		WriteError(w, r, Errorf(http.StatusNotFound, "not_found", "no room %q", id))
		return
	}
	offer, err := readOffer(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" || p.Room != "" {
		name = displayName(p.Username)
	}
	part, err := rm.Join(room.JoinOptions{Name: name, User: roomUser(p), Role: roomRole(p, rm), Manual: true})
	if err != nil {
		WriteError(w, r, RoomError(err))
		return
	}
	res, err := part.Publish(r.Context(), offer, room.PublishOptions{})
	if err != nil {
		part.Leave()
		WriteError(w, r, RoomError(err))
		return
	}
	res.Session.OnClose(func() { go part.Leave() })
	a.created(w, res.Session, res.Answer, roomUser(p), string(res.Stream))
}

func (a *WHIPAPI) created(w http.ResponseWriter, in *webrtc.Ingest, answer, owner, stream string) {
	a.sessions.add(in, owner)
	a.log().Info("whip publisher", "stream", stream, "user", owner, "session", in.ID())
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whip/sessions/"+in.ID())
	w.Header().Set("ETag", `"`+in.ID()+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

func (a *WHIPAPI) delete(w http.ResponseWriter, r *http.Request) {
	a.sessions.delete(w, r, a.AllowOrigin, http.StatusOK)
}

func (a *WHIPAPI) patch(w http.ResponseWriter, r *http.Request) {
	a.sessions.patch(w, r, a.AllowOrigin)
}

func (a *WHIPAPI) options(w http.ResponseWriter, r *http.Request) { sdpOptions(w, r, a.AllowOrigin) }

// Sessions is the number of live WHIP sessions.
func (a *WHIPAPI) Sessions() int { return a.sessions.len() }
