package rtsp

import (
	"context"
	"errors"
	"strings"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"

	"pingan/media"
)

// serverHandler implements gortsplib's server callbacks for Server. Every
// callback that gortsplib would otherwise answer by writing to the std log
// (packets lost, decode errors, stream write errors) is implemented here.
type serverHandler struct {
	s *Server
}

// Compile-time checks: gortsplib detects callbacks by interface.
var (
	_ gortsplib.ServerHandlerOnDescribe         = (*serverHandler)(nil)
	_ gortsplib.ServerHandlerOnAnnounce         = (*serverHandler)(nil)
	_ gortsplib.ServerHandlerOnSetup            = (*serverHandler)(nil)
	_ gortsplib.ServerHandlerOnPlay             = (*serverHandler)(nil)
	_ gortsplib.ServerHandlerOnRecord           = (*serverHandler)(nil)
	_ gortsplib.ServerHandlerOnSessionClose     = (*serverHandler)(nil)
	_ gortsplib.ServerHandlerOnResponse         = (*serverHandler)(nil)
	_ gortsplib.ServerHandlerOnPacketsLost      = (*serverHandler)(nil)
	_ gortsplib.ServerHandlerOnDecodeError      = (*serverHandler)(nil)
	_ gortsplib.ServerHandlerOnStreamWriteError = (*serverHandler)(nil)
)

func response(code base.StatusCode) *base.Response {
	return &base.Response{StatusCode: code}
}

// streamID turns a request path ("/live/cam1") into a stream id ("live/cam1").
func streamID(path string) (media.StreamID, bool) {
	id := strings.Trim(path, "/")
	if id == "" || strings.Contains(id, "//") || strings.Contains(id, "..") {
		return "", false
	}
	return media.StreamID(id), true
}

// connState is what the server keeps per RTSP connection (its user data).
// Handlers for one connection run one at a time, so it needs no lock.
type connState struct {
	// authorized remembers the last accepted credentials, so the SETUP
	// that follows a DESCRIBE does not hash the password again.
	authorized authGrant
	// play is the outStream whose first PLAY is being answered; OnResponse
	// starts it once the session is active.
	play *outStream
}

type authGrant struct {
	header  string
	stream  media.StreamID
	publish bool
}

func connStateOf(sc *gortsplib.ServerConn) *connState {
	if cs, ok := sc.UserData().(*connState); ok {
		return cs
	}
	cs := &connState{}
	sc.SetUserData(cs)
	return cs
}

// authorize checks the request's Basic credentials for stream. It returns
// nil when allowed, else the response to send and, for bad credentials, an
// error so gortsplib closes the connection. A request without credentials
// gets a challenge and keeps its connection, so the client can retry.
func (h *serverHandler) authorize(conn *gortsplib.ServerConn, req *base.Request,
	id media.StreamID, publish bool,
) (*base.Response, error) {
	if h.s.cfg.Auth == nil {
		return nil, nil
	}
	header := req.Header["Authorization"]
	user, pass, err := parseBasicAuth(header)
	if errors.Is(err, ErrNoCredentials) {
		return challenge(), nil
	}
	if err != nil {
		return response(base.StatusBadRequest), err
	}
	cs := connStateOf(conn)
	grant := authGrant{header: header[0], stream: id, publish: publish}
	if cs.authorized == grant {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(h.s.ctx, authTimeout)
	defer cancel()
	err = h.s.cfg.Auth.AuthorizeRTSP(ctx, user, pass, id, publish)
	if err == nil {
		cs.authorized = grant
		return nil, nil
	}
	h.s.log.Info("RTSP request refused", "stream", string(id), "user", user,
		"publish", publish, "remote", conn.NetConn().RemoteAddr().String(), "error", err)
	if errors.Is(err, ErrForbidden) {
		return response(base.StatusForbidden), err
	}
	return challenge(), err
}

func challenge() *base.Response {
	return &base.Response{
		StatusCode: base.StatusUnauthorized,
		Header:     base.Header{"WWW-Authenticate": base.HeaderValue{wwwAuthenticate}},
	}
}

// hubStatus maps a hub error to an RTSP status.
func hubStatus(err error) base.StatusCode {
	switch {
	case errors.Is(err, media.ErrNotFound):
		return base.StatusNotFound
	case errors.Is(err, media.ErrNotReady), errors.Is(err, context.DeadlineExceeded):
		return base.StatusServiceUnavailable
	case errors.Is(err, media.ErrPublisherSet):
		return base.StatusBadRequest
	case errors.Is(err, ErrNoMedia), errors.Is(err, ErrUnsupportedCodec), errors.Is(err, media.ErrUnsupportedCodec):
		return base.StatusUnsupportedMediaType
	default:
		return base.StatusInternalServerError
	}
}

// OnDescribe authorizes a reader and describes the hub stream, starting an
// on-demand source if needed.
func (h *serverHandler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx,
) (*base.Response, *gortsplib.ServerStream, error) {
	id, ok := streamID(ctx.Path)
	if !ok {
		return response(base.StatusBadRequest), nil, nil
	}
	if res, err := h.authorize(ctx.Conn, ctx.Request, id, false); res != nil {
		return res, nil, err
	}
	o, err := h.s.acquire(id, false)
	if err != nil {
		h.s.log.Debug("RTSP describe failed", "stream", string(id), "error", err)
		return response(hubStatus(err)), nil, nil
	}
	return response(base.StatusOK), o.ss, nil
}

// OnAnnounce authorizes a publisher and claims the hub stream.
func (h *serverHandler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	id, ok := streamID(ctx.Path)
	if !ok {
		return response(base.StatusBadRequest), nil
	}
	if res, err := h.authorize(ctx.Conn, ctx.Request, id, true); res != nil {
		return res, err
	}
	log := h.s.log.With("stream", string(id), "remote", ctx.Conn.NetConn().RemoteAddr().String())
	bound := boundFor(ctx.Description, log)
	if len(bound) == 0 {
		return response(base.StatusUnsupportedMediaType), nil
	}
	st, err := h.s.cfg.Hub.Publish(id)
	if err != nil {
		log.Info("RTSP publish refused", "error", err)
		return response(hubStatus(err)), nil
	}
	ctx.Session.SetUserData(newPublisher(id, st, bound, log))
	return response(base.StatusOK), nil
}

// OnSetup answers publishers' SETUPs as is; a reader's first SETUP
// authorizes it and attaches its session to the shared outStream.
func (h *serverHandler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx,
) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return response(base.StatusOK), nil, nil
	}
	if o, ok := ctx.Session.UserData().(*outStream); ok { // second and later media
		return response(base.StatusOK), o.ss, nil
	}
	id, ok := streamID(ctx.Path)
	if !ok {
		return response(base.StatusBadRequest), nil, nil
	}
	if res, err := h.authorize(ctx.Conn, ctx.Request, id, false); res != nil {
		return res, nil, err
	}
	o, err := h.s.acquire(id, true)
	if err != nil {
		return response(hubStatus(err)), nil, nil
	}
	ctx.Session.SetUserData(o)
	return response(base.StatusOK), o.ss, nil
}

// OnPlay lets a set-up reader play. The outStream is shared, so a reader
// joining it starts mid-GOP: ask the source for a keyframe (merged and
// rate-limited by the hub; RTSP cameras ignore it).
//
// gortsplib activates the session only after OnPlay returns, so the
// outStream is told to start in OnResponse, which runs after activation on
// the connection's goroutine; the connection's state carries it there.
func (h *serverHandler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	if o, ok := ctx.Session.UserData().(*outStream); ok && ctx.Session.State() == gortsplib.ServerSessionStatePrePlay {
		o.reader.RequestKeyframe()
		connStateOf(ctx.Conn).play = o
	}
	return response(base.StatusOK), nil
}

// OnResponse starts an outStream once its first reader's PLAY succeeded.
func (h *serverHandler) OnResponse(sc *gortsplib.ServerConn, res *base.Response) {
	cs, ok := sc.UserData().(*connState)
	if !ok || cs.play == nil {
		return
	}
	if res.StatusCode == base.StatusOK {
		cs.play.markPlaying()
	}
	cs.play = nil
}

// OnRecord starts feeding the publisher's packets into the hub.
func (h *serverHandler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	p, ok := ctx.Session.UserData().(*publisher)
	if !ok {
		return response(base.StatusBadRequest), nil
	}
	if err := p.record(ctx.Session); err != nil {
		return response(hubStatus(err)), nil
	}
	return response(base.StatusOK), nil
}

// OnSessionClose ends a publisher's stream or drops a reader's hold.
func (h *serverHandler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	switch v := ctx.Session.UserData().(type) {
	case *publisher:
		v.close(ctx.Error)
	case *outStream:
		h.s.release(v)
	}
}

// OnPacketsLost counts losses instead of letting gortsplib log each.
func (h *serverHandler) OnPacketsLost(ctx *gortsplib.ServerHandlerOnPacketsLostCtx) {
	h.s.lost.add(ctx.Lost, nil)
}

// OnDecodeError counts decode errors.
func (h *serverHandler) OnDecodeError(ctx *gortsplib.ServerHandlerOnDecodeErrorCtx) {
	h.s.decodeErrs.add(1, ctx.Error)
}

// OnStreamWriteError counts errors writing to a reader (its queue is full).
func (h *serverHandler) OnStreamWriteError(ctx *gortsplib.ServerHandlerOnStreamWriteErrorCtx) {
	h.s.writeErrs.add(1, ctx.Error)
}
