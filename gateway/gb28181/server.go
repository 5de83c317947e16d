package gb28181

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghettovoice/gosip"
	"github.com/ghettovoice/gosip/sip"

	"pingan/gateway/gb28181/manscdp"
	"pingan/internal/store"
)

// Server is the GB28181 SIP server: registrar, device registry, keepalive
// liveness, catalog, queries and device control. New builds it; Run listens.
type Server struct {
	cfg   Config
	log   *slog.Logger
	clock Clock
	reg   *registry
	auth  *digestAuth
	ev    *eventHub
	wait  *waiters
	subs  *subscriptions
	play  *player // live-play sessions (play.go)

	sn   atomic.Int64  // MANSCDP SN counter
	cseq atomic.Uint32 // CSeq for out-of-dialog requests

	// extra SIP handlers and notify hooks added by other files of this
	// package (invite.go) before Run; see doc.go.
	handlers    map[sip.RequestMethod]gosip.RequestHandler
	notifyHooks map[string]notifyHook

	mu      sync.Mutex
	sip     gosip.Server      // nil until Run has started listening
	runCtx  context.Context   // canceled when Run stops
	syncing map[DeviceID]bool // queued or running syncs (sync.go)
	running bool

	syncQueue   []DeviceID // devices waiting for a sync worker
	syncWorkers int
	syncActive  int // syncs running

	regRate struct { // REGISTERs per second, for registerBurst (sync.go)
		mu      sync.Mutex
		start   time.Time // of the current one-second window
		n, last int       // REGISTERs in it and in the one before
	}

	wg sync.WaitGroup // background work started by handlers (syncs, subscriptions)
}

// notifyHook handles a MANSCDP Notify of one CmdType from a known device.
type notifyHook func(ctx context.Context, dev Device, msg *manscdp.Message)

// New validates cfg and builds a Server on st. It opens no sockets; Run does.
func New(cfg Config, st store.Store, log *slog.Logger) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, errors.New("gb28181: nil store")
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "gb28181")
	s := &Server{
		cfg:   cfg,
		log:   log,
		clock: cfg.Clock,
		reg: &registry{
			st: st, interval: cfg.SIP.KeepaliveInterval.D(), missed: cfg.SIP.KeepaliveMissed,
		},
		auth:        newDigestAuth(cfg.SIP.Domain, cfg.Qop, cfg.NonceTTL, cfg.AuthFailLimit, cfg.AuthFailWindow),
		ev:          newEventHub(log),
		wait:        newWaiters(),
		subs:        newSubscriptions(),
		handlers:    make(map[sip.RequestMethod]gosip.RequestHandler),
		notifyHooks: make(map[string]notifyHook),
		syncing:     make(map[DeviceID]bool),
		runCtx:      context.Background(),
	}
	if err := s.initPlay(); err != nil {
		return nil, err
	}
	s.sn.Store(time.Now().UnixNano() % 100000)
	s.cseq.Store(uint32(time.Now().UnixNano() % 10000))
	return s, nil
}

// Run listens on sip.addr over UDP and TCP and serves until ctx ends. It
// returns after every goroutine it started has exited.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := gosip.NewServer(gosip.ServerConfig{Host: s.cfg.SIP.IP, UserAgent: s.cfg.UserAgent}, nil, newRaceTxFactory(s.stateless), newSIPLogger(s.log))
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		srv.Shutdown()
		return errors.New("gb28181: Run called twice")
	}
	s.running = true
	s.runCtx = ctx
	s.mu.Unlock()

	s.registerHandlers(srv)
	for _, network := range []string{"udp", "tcp"} {
		if err := srv.Listen(network, s.cfg.SIP.Addr); err != nil {
			srv.Shutdown()
			return fmt.Errorf("gb28181: listen %s %s: %w", network, s.cfg.SIP.Addr, err)
		}
	}
	s.mu.Lock()
	s.sip = srv
	s.mu.Unlock()
	s.log.Info("SIP server listening", "addr", s.cfg.SIP.Addr, "ip", s.cfg.SIP.IP, "id", s.cfg.SIP.ID, "domain", s.cfg.SIP.Domain)

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.sweepLoop(ctx)
	}()

	<-ctx.Done()
	s.mu.Lock()
	s.sip = nil
	s.mu.Unlock()
	shutdownSIP(srv, s.log)
	s.wg.Wait()
	s.ev.close()
	s.log.Info("SIP server stopped")
	return nil
}

// stateless takes the requests answered without a gosip transaction.
func (s *Server) stateless(req sip.Request) bool {
	return s.statelessMessage(req) || s.statelessRegister(req)
}

func (s *Server) registerHandlers(srv gosip.Server) {
	on := func(m sip.RequestMethod, h gosip.RequestHandler) { _ = srv.OnRequest(m, h) }
	on(sip.REGISTER, s.onRegister)
	on(sip.MESSAGE, s.onMessage)
	on(sip.NOTIFY, s.onNotify)
	on(sip.OPTIONS, s.replyOK)
	on(sip.BYE, s.onUnmatched(481, "Call/Transaction Does Not Exist"))
	on(sip.INFO, s.onUnmatched(481, "Call/Transaction Does Not Exist"))
	on(sip.ACK, func(sip.Request, sip.ServerTransaction) {})
	for m, h := range s.handlers {
		on(m, h)
	}
}

// handleSIP installs a handler for method (used by invite.go for BYE, ACK
// and INVITE from devices). Call it before Run.
func (s *Server) handleSIP(method sip.RequestMethod, h gosip.RequestHandler) {
	s.handlers[method] = h
}

// hookNotify routes MANSCDP Notify messages of cmdType from known devices to
// fn (MediaStatus for playback end, Alarm, MobilePosition). Call before Run.
func (s *Server) hookNotify(cmdType string, fn notifyHook) {
	s.notifyHooks[cmdType] = fn
}

// SIP returns the running gosip server for requests this file does not
// wrap (INVITE with RequestWithContext, ACK with Send), or nil when not running.
func (s *Server) SIP() gosip.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sip
}

// Events delivers device events until ctx ends or the server stops. A
// subscriber that does not keep up loses events rather than slowing SIP.
func (s *Server) Events(ctx context.Context) <-chan DeviceEvent {
	return s.ev.subscribe(ctx)
}

// PlatformID is our 20-digit SIP id (From of our requests, o= and Subject in SDP).
func (s *Server) PlatformID() DeviceID { return DeviceID(s.cfg.SIP.ID) }

// Domain is our SIP domain/realm; digits 4–8 go into SSRCs.
func (s *Server) Domain() string { return s.cfg.SIP.Domain }

// IP is the address devices reach us at (Via, Contact, SDP c=).
func (s *Server) IP() string { return s.cfg.SIP.IP }

// DefaultTransport is the media transport new devices get.
func (s *Server) DefaultTransport() string { return s.cfg.MediaTransport }

func (s *Server) publish(t EventType, d Device, reason string, channels []DeviceID) {
	s.ev.publish(DeviceEvent{Type: t, DeviceID: d.ID, Region: d.Region, Time: s.clock.Now(), Reason: reason, Channels: channels})
}

// background runs fn in a goroutine that Run waits for, with Run's
// context. It reports false, running nothing, once Run has stopped.
func (s *Server) background(fn func(ctx context.Context)) bool {
	s.mu.Lock()
	ctx := s.runCtx
	s.mu.Unlock()
	if ctx.Err() != nil {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn(ctx)
	}()
	return true
}

// reqContext is the context for handling one request.
func (s *Server) reqContext() (context.Context, context.CancelFunc) {
	s.mu.Lock()
	ctx := s.runCtx
	s.mu.Unlock()
	return context.WithTimeout(ctx, 10*time.Second)
}

// respond answers req; every non-ACK request must get a final response or
// its transaction and goroutine leak (gosip#78).
func (s *Server) respond(tx sip.ServerTransaction, res sip.Response) {
	if ua := s.cfg.UserAgent; ua != "" {
		res.AppendHeader(&sip.GenericHeader{HeaderName: "Server", Contents: ua})
	}
	var err error
	if tx != nil {
		err = tx.Respond(res)
		if err == nil && !res.IsProvisional() {
			endTxLater(tx)
		}
	} else if srv := s.SIP(); srv != nil {
		_, err = srv.Respond(res)
	}
	if err != nil {
		s.log.Debug("SIP respond failed", "status", res.StatusCode(), "to", res.Destination(), "err", err)
	}
}

// txLinger is how long a non-INVITE server transaction outlives its final
// response. gosip keeps each one for Timer J (32 s, also over TCP) with a
// goroutine, a timer and the parsed request: at 10,000 devices that was
// ~5,300 live transactions at steady state (~120 MB of heap) and tens of
// thousands during a registration burst. Retransmits of the request within
// txLinger still get the stored response; a later one (its sender missed
// the response four times over) is handled anew, which is harmless for
// everything we answer this way: a REGISTER with a used nonce is
// challenged again, and a MESSAGE or NOTIFY is idempotent for us
// (keepalives, catalog pages deduplicated by item, alarms acknowledged again).
const txLinger = 4 * time.Second

// endTxLater ends a non-INVITE server transaction txLinger from now.
func endTxLater(tx sip.ServerTransaction) {
	t, ok := tx.(interface{ Terminate() })
	if !ok || tx.Origin().IsInvite() {
		return
	}
	time.AfterFunc(txLinger, t.Terminate)
}

// msgIDs numbers the responses built here. Given no id, gosip names each
// message with a random UUID (crypto/rand, a syscall); the id only labels
// gosip's log entries.
var msgIDs atomic.Uint64

// newResponse builds a response to req with no body.
func newResponse(req sip.Request, code sip.StatusCode, reason string) sip.Response {
	id := sip.MessageID("gb-" + strconv.FormatUint(msgIDs.Add(1), 36))
	return sip.NewResponseFromRequest(id, req, code, reason, "")
}

func (s *Server) reply(tx sip.ServerTransaction, req sip.Request, code sip.StatusCode, reason string) {
	s.respond(tx, newResponse(req, code, reason))
}

func (s *Server) replyOK(req sip.Request, tx sip.ServerTransaction) { s.reply(tx, req, 200, "OK") }

func (s *Server) onUnmatched(code sip.StatusCode, reason string) gosip.RequestHandler {
	return func(req sip.Request, tx sip.ServerTransaction) { s.reply(tx, req, code, reason) }
}

// fromID returns the user part of From: the sender's GB id.
func fromID(req sip.Request) string {
	from, ok := req.From()
	if !ok || from.Address == nil || from.Address.User() == nil {
		return ""
	}
	return strings.TrimSpace(from.Address.User().String())
}

// networkName lowercases a gosip transport name ("UDP" → "udp").
func networkName(tp string) string {
	if strings.EqualFold(tp, "tcp") {
		return "tcp"
	}
	return "udp"
}

// sipShutdownWait bounds gosip's Shutdown, which waits for running handlers
// and can deadlock when a TCP message arrives while its connection pool is
// being disposed (connectionPool.serveHandlers blocks on a send nobody
// reads). The hub must still stop on SIGTERM, so after this wait Run goes on
// and leaves gosip's stuck goroutines behind.
const sipShutdownWait = 5 * time.Second

func shutdownSIP(srv gosip.Server, log *slog.Logger) {
	done := make(chan struct{})
	go func() {
		srv.Shutdown()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(sipShutdownWait):
		log.Warn("SIP transport did not shut down in time; continuing without it", "waited", sipShutdownWait)
	}
}
