package sim

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ghettovoice/gosip"
	"github.com/ghettovoice/gosip/sip"
)

// ua is one gosip server (one SIP socket) shared by several devices. It
// routes incoming requests to the device that owns the target id.
type ua struct {
	cfg       *Config
	srv       gosip.Server
	transport string // "UDP" or "TCP"
	port      int
	log       *slog.Logger

	mu       sync.Mutex
	targets  map[string]*device  // device and channel ids
	sessions map[string]*session // by Call-ID
	wg       sync.WaitGroup      // session goroutines
}

// txLinger is how long a non-INVITE server transaction is kept after its
// final response, for retransmits of the request (a later one is answered
// anew, which is harmless for the MESSAGEs a platform sends us). gosip
// keeps it for Timer J, 32 s, with a goroutine: the platform's queries to
// 10,000 devices after they register held tens of thousands.
const txLinger = 4 * time.Second

func newUA(cfg *Config, n int) (*ua, error) {
	u := &ua{
		cfg: cfg, transport: strings.ToUpper(cfg.Transport),
		targets: map[string]*device{}, sessions: map[string]*session{},
	}
	u.log = cfg.Logger.With("ua", n)
	var lastErr error
	for range 5 { // a free port can be taken between the probe and gosip's bind
		port, err := freePort(cfg.LocalIP, cfg.Transport)
		if err != nil {
			return nil, err
		}
		srv := gosip.NewServer(gosip.ServerConfig{Host: cfg.LocalIP, UserAgent: "pingan-gbsim"},
			nil, gatedTxLayer, sipLogger{log: u.log})
		if err := srv.Listen(cfg.Transport, net.JoinHostPort(cfg.LocalIP, strconv.Itoa(port))); err != nil {
			srv.Shutdown()
			lastErr = err
			continue
		}
		u.srv, u.port = srv, port
		u.handle()
		return u, nil
	}
	return nil, fmt.Errorf("sim: listen %s on %s: %w", cfg.Transport, cfg.LocalIP, lastErr)
}

// freePort finds a port the OS considers free; gosip cannot listen on port
// 0 (it would advertise port 0 in Via).
func freePort(ip, network string) (int, error) {
	addr := net.JoinHostPort(ip, "0")
	if network == "tcp" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return 0, fmt.Errorf("sim: %w", err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return 0, fmt.Errorf("sim: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func (u *ua) add(d *device) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.targets[d.id] = d
	for _, ch := range d.channels {
		u.targets[ch] = d
	}
}

func (u *ua) handle() {
	u.srv.OnRequest(sip.MESSAGE, u.onMessage)
	u.srv.OnRequest(sip.INVITE, u.onInvite)
	u.srv.OnRequest(sip.ACK, u.onAck)
	u.srv.OnRequest(sip.BYE, u.onBye)
	u.srv.OnRequest(sip.CANCEL, u.onCancel)
	for _, m := range []sip.RequestMethod{sip.INFO, sip.OPTIONS, sip.SUBSCRIBE, sip.NOTIFY} {
		u.srv.OnRequest(m, func(req sip.Request, tx sip.ServerTransaction) { u.respond(req, tx, 200, "OK") })
	}
}

// shutdown stops the sessions, then the SIP server.
func (u *ua) shutdown() {
	u.mu.Lock()
	for _, s := range u.sessions {
		s.stop()
	}
	u.mu.Unlock()
	u.wg.Wait()
	u.srv.Shutdown()
}

// target finds the device a request is for: by Request-URI user, then To user.
func (u *ua) target(req sip.Request) (*device, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	ids := []string{}
	if uri, ok := req.Recipient().(*sip.SipUri); ok && uri.FUser != nil {
		ids = append(ids, uri.FUser.String())
	}
	if to, ok := req.To(); ok && to.Address != nil && to.Address.User() != nil {
		ids = append(ids, to.Address.User().String())
	}
	for _, id := range ids {
		if d := u.targets[id]; d != nil {
			return d, id
		}
	}
	return nil, ""
}

// respond sends a final response; every request but ACK gets one.
func (u *ua) respond(req sip.Request, tx sip.ServerTransaction, code sip.StatusCode, reason string) {
	u.send(tx, sip.NewResponseFromRequest("", req, code, reason, ""))
}

func (u *ua) send(tx sip.ServerTransaction, res sip.Response) {
	var err error
	if tx != nil {
		err = tx.Respond(res)
		if t, ok := tx.(interface{ Terminate() }); ok && err == nil && !res.IsProvisional() && !tx.Origin().IsInvite() {
			// gosip would keep it for 32 s (Timer J); see txLinger
			time.AfterFunc(txLinger, t.Terminate)
		}
	} else {
		_, err = u.srv.Respond(res)
	}
	if err != nil {
		u.log.Debug("respond failed", "code", res.StatusCode(), "err", err)
	}
}

func (u *ua) onMessage(req sip.Request, tx sip.ServerTransaction) {
	d, _ := u.target(req)
	if d == nil {
		u.respond(req, tx, 404, "Not Found")
		return
	}
	u.respond(req, tx, 200, "OK") // MESSAGE is answered at once; the answer comes as a new MESSAGE
	d.onMessage([]byte(req.Body()))
}

func (u *ua) onAck(req sip.Request, _ sip.ServerTransaction) {
	if s := u.session(req); s != nil {
		s.acked()
	}
}

func (u *ua) onBye(req sip.Request, tx sip.ServerTransaction) {
	s := u.session(req)
	if s == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	s.stop()
	u.respond(req, tx, 200, "OK")
}

func (u *ua) onCancel(req sip.Request, tx sip.ServerTransaction) {
	if s := u.session(req); s != nil && !s.isAcked() {
		s.stop()
	}
	u.respond(req, tx, 200, "OK")
}

func (u *ua) session(req sip.Request) *session {
	id, ok := req.CallID()
	if !ok {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sessions[id.Value()]
}

func (u *ua) addSession(s *session) {
	u.mu.Lock()
	u.sessions[s.callID] = s
	u.mu.Unlock()
}

func (u *ua) removeSession(s *session) {
	u.mu.Lock()
	if u.sessions[s.callID] == s {
		delete(u.sessions, s.callID)
	}
	u.mu.Unlock()
}

// channelSessions returns the sessions playing channel id (or any channel
// of device id).
func (u *ua) channelSessions(d *device, id string) []*session {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []*session
	for _, s := range u.sessions {
		if s.dev == d && (s.channel == id || id == d.id) {
			out = append(out, s)
		}
	}
	return out
}
