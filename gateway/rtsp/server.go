// Package rtsp brings RTSP into the media hub and serves the hub over RTSP
// (gortsplib v4):
//
//   - Puller: the configured RTSP sources (cameras, 视联网 RTSP gateways) as
//     on-demand hub sources under the stream id prefix "rtsp/".
//   - Server: ffmpeg/OBS publish in with ANNOUNCE + RECORD to
//     rtsp://HOST:PORT/{stream}, and players (ffplay, VLC, video walls) read
//     any hub stream with DESCRIBE/SETUP/PLAY. Stream ids may contain '/'.
//
// Authentication is HTTP Basic only (RFC 7617): the user store keeps bcrypt
// hashes, and RTSP Digest needs the plaintext password on the server. Basic
// sends credentials in clear text, so expose the RTSP port only on the
// intranet or a VPN (RTSPS via TLSConfig is possible later).
//
// The package imports media and configs of ours, never signaling or dispatch.
package rtsp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"

	"pingan/media"
)

// Hub is what the server needs from the media hub.
type Hub interface {
	Publish(id media.StreamID) (*media.Stream, error)
	Subscribe(ctx context.Context, id media.StreamID, opts media.ReaderOptions) (*media.Reader, error)
}

// Authorizer checks RTSP credentials for a stream. The hub implements it
// with the user store: the password is the user's password, or a login
// token or API key; the stream must lie in the user's region scope. Return
// an error wrapping ErrForbidden for valid credentials without the right
// (403); any other error is a 401.
type Authorizer interface {
	AuthorizeRTSP(ctx context.Context, user, pass string, stream media.StreamID, publish bool) error
}

// ServerConfig configures the RTSP server.
type ServerConfig struct {
	// Addr is the TCP listen address, e.g. ":8554" or "127.0.0.1:0". Required.
	Addr string
	// UDPRTPAddr and UDPRTCPAddr enable the UDP transport when both are set
	// (RTCP port = RTP port + 1). Default "": TCP only.
	UDPRTPAddr  string
	UDPRTCPAddr string
	// Hub provides streams. Required.
	Hub Hub
	// Auth checks credentials. Nil lets everyone read and publish (tests,
	// closed networks); the server logs a warning at start.
	Auth Authorizer
	// Logger receives lifecycle logs. Nil discards.
	Logger *slog.Logger
	// ReadTimeout is how long a connection may stay silent. Zero means 10 s.
	ReadTimeout time.Duration
}

// Server limits. A DESCRIBE of an on-demand stream waits for the source's
// tracks up to the hub's ReadyTimeout.
const (
	authTimeout    = 5 * time.Second  // one Authorizer call
	describeLinger = 10 * time.Second // an outStream created by DESCRIBE waits this long for a SETUP
	maxPacketSize  = 1472             // UDP MTU payload; hub packets carry ≤ media.PayloadMaxSize (1200)
	writeQueueSize = 512              // per session; a power of two
)

// Server is the RTSP server: publish in, read out.
type Server struct {
	cfg ServerConfig
	log *slog.Logger
	rs  *gortsplib.Server

	running atomic.Bool
	ready   chan struct{} // closed when listening or failed
	addr    net.Addr

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // outStream goroutines

	mu   sync.Mutex
	outs map[media.StreamID]*outStream

	lost, decodeErrs, writeErrs *errorCounter
}

// NewServer validates cfg and allocates the server; Run starts it.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Addr == "" {
		return nil, errors.New("rtsp server: Addr is required")
	}
	if cfg.Hub == nil {
		return nil, errors.New("rtsp server: Hub is required")
	}
	if (cfg.UDPRTPAddr == "") != (cfg.UDPRTCPAddr == "") {
		return nil, errors.New("rtsp server: set UDPRTPAddr and UDPRTCPAddr together, or neither")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, log: log, ready: make(chan struct{}),
		ctx: ctx, cancel: cancel,
		outs:       make(map[media.StreamID]*outStream),
		lost:       newErrorCounter(log, "RTSP packets lost"),
		decodeErrs: newErrorCounter(log, "RTSP decode errors"),
		writeErrs:  newErrorCounter(log, "RTSP write errors"),
	}
	s.rs = &gortsplib.Server{
		Handler:        &serverHandler{s: s},
		RTSPAddress:    cfg.Addr,
		UDPRTPAddress:  cfg.UDPRTPAddr,
		UDPRTCPAddress: cfg.UDPRTCPAddr,
		ReadTimeout:    cfg.ReadTimeout,
		WriteQueueSize: writeQueueSize,
		MaxPacketSize:  maxPacketSize,
		Listen:         s.listen,
	}
	return s, nil
}

// listen records the bound address (useful with port 0).
func (s *Server) listen(network, address string) (net.Listener, error) {
	ln, err := net.Listen(network, address)
	if err == nil {
		s.addr = ln.Addr()
	}
	return ln, err
}

// Ready is closed once the server listens (or failed to).
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the bound TCP address; valid after Ready is closed and Run did not fail.
func (s *Server) Addr() net.Addr {
	<-s.ready
	return s.addr
}

// Run serves until ctx ends or Close is called, then closes every session
// and stream and returns after all goroutines have exited.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("rtsp server: already running")
	}
	if s.cfg.Auth == nil {
		s.log.Warn("RTSP server has no authorizer: anyone may read and publish")
	}
	err := s.rs.Start()
	close(s.ready)
	if err != nil {
		s.cancel()
		return fmt.Errorf("rtsp server: %w", err)
	}
	s.log.Info("RTSP server listening", "addr", s.addr.String(), "udp", s.cfg.UDPRTPAddr != "")
	stop := context.AfterFunc(ctx, s.cancel)
	defer stop()
	failed := make(chan error, 1)
	go func() { failed <- s.rs.Wait() }()
	select {
	case <-s.ctx.Done():
	case err = <-failed:
	}
	s.cancel() // handlers waiting on the hub give up
	s.rs.Close()
	s.wg.Wait()
	s.lost.flush()
	s.decodeErrs.flush()
	s.writeErrs.flush()
	if err != nil && s.ctx.Err() == nil {
		return fmt.Errorf("rtsp server: %w", err)
	}
	return nil
}

// Close stops a running server; Run returns when everything has exited.
func (s *Server) Close() { s.cancel() }

// acquire returns the running outStream for id, building it on first use.
// A session (SETUP, withSession) holds it until release; a DESCRIBE only
// arms the linger timer so an abandoned DESCRIBE does not keep the hub
// reader open.
func (s *Server) acquire(id media.StreamID, withSession bool) (*outStream, error) {
	for range 3 {
		s.mu.Lock()
		o, ok := s.outs[id]
		if !ok {
			o = newOutStream(s.ctx, id, s.log.With("stream", string(id)))
			s.outs[id] = o
		}
		s.mu.Unlock()
		if !ok {
			s.start(o)
		}
		select {
		case <-o.ready:
		case <-s.ctx.Done():
			return nil, media.ErrClosed
		}
		if o.err != nil {
			return nil, o.err
		}
		s.mu.Lock()
		if o.retired { // ended between ready and now: build a fresh one
			s.mu.Unlock()
			continue
		}
		if withSession {
			o.sessions++
		} else if o.sessions == 0 {
			time.AfterFunc(describeLinger, func() { s.releaseIfIdle(o) })
		}
		s.mu.Unlock()
		return o, nil
	}
	return nil, fmt.Errorf("rtsp: stream %s keeps ending: %w", id, media.ErrNotReady)
}

// start builds o and runs it; failures are recorded in o.err.
func (s *Server) start(o *outStream) {
	defer close(o.ready)
	if err := o.build(s.cfg.Hub, s.rs); err != nil {
		o.err = err
		s.forget(o)
		o.cancel()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		o.run(s.forget, s.writeErrs)
	}()
}

// forget removes o from the registry so new readers build a fresh one.
func (s *Server) forget(o *outStream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o.retired = true
	if s.outs[o.id] == o {
		delete(s.outs, o.id)
	}
}

// release drops a session's hold; the last one stops the outStream.
func (s *Server) release(o *outStream) {
	s.mu.Lock()
	o.sessions--
	last := o.sessions <= 0 && !o.retired
	if last {
		o.retired = true
		delete(s.outs, o.id)
	}
	s.mu.Unlock()
	if last {
		o.stop()
	}
}

// releaseIfIdle stops an outStream that a DESCRIBE created but no SETUP used.
func (s *Server) releaseIfIdle(o *outStream) {
	s.mu.Lock()
	idle := o.sessions <= 0 && !o.retired
	if idle {
		o.retired = true
		delete(s.outs, o.id)
	}
	s.mu.Unlock()
	if idle {
		o.stop()
	}
}
