package gb28181

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ghettovoice/gosip/sip"
)

// dateLayout is the Date header devices set their clocks from (校时): local
// time, ISO-8601, milliseconds, no zone (GB/T 28181-2016 §9.10).
const dateLayout = "2006-01-02T15:04:05.000"

// defaultExpires applies when a REGISTER names no lifetime.
const defaultExpires = 3600

// onRegister is the registrar (GB/T 28181-2016 §9.1; RFC 3261 §10.3).
func (s *Server) onRegister(req sip.Request, tx sip.ServerTransaction) {
	s.countRegister()
	ctx, cancel := s.reqContext()
	defer cancel()
	res, first := s.register(ctx, req)
	s.respond(tx, res)
	if first != "" {
		s.startSync(first)
	}
}

// statelessRegister takes a REGISTER that carries no digest credentials
// before gosip's transaction layer and answers it without a server
// transaction (a stateless UAS, RFC 3261 §8.2.7): the first REGISTER of
// every registration gets a 401 challenge (or 400, 403, 503), never a 200,
// and half of all REGISTERs are these. A retransmission is simply
// challenged again with a fresh nonce; the device answers whichever
// challenge reaches it, and the unused nonce expires. A REGISTER with an
// Authorization header keeps its transaction, so retransmits of an
// authenticated REGISTER get the stored response rather than a second
// store write or a stale challenge. It reports false, leaving the request
// to the transaction layer, for anything else or when the server is not
// running.
func (s *Server) statelessRegister(req sip.Request) bool {
	if req.Method() != sip.REGISTER || hasDigest(req) {
		return false
	}
	srv := s.SIP()
	if srv == nil {
		return false
	}
	return s.background(func(ctx context.Context) {
		s.countRegister()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		res, _ := s.register(ctx, req) // no credentials: never a 200
		if ua := s.cfg.UserAgent; ua != "" {
			res.AppendHeader(&sip.GenericHeader{HeaderName: "Server", Contents: ua})
		}
		if err := srv.Send(res); err != nil {
			s.log.Debug("SIP respond failed", "status", res.StatusCode(), "to", res.Destination(), "err", err)
		}
	})
}

// hasDigest reports whether req has an Authorization header with Digest
// credentials: the only REGISTERs register can answer 200.
func hasDigest(req sip.Request) bool {
	hdrs := req.GetHeaders("Authorization")
	return len(hdrs) > 0 && isDigest(hdrs[0].Value())
}

func isDigest(v string) bool {
	v = strings.TrimSpace(v)
	return len(v) >= 6 && strings.EqualFold(v[:6], "digest")
}

// register checks the digest and updates the registry. It returns the
// response and, for a device's first successful registration (new, or
// back from offline), its id so the caller can start the catalog sync.
func (s *Server) register(ctx context.Context, req sip.Request) (sip.Response, DeviceID) {
	now := s.clock.Now()
	id, err := ParseDeviceID(fromID(req))
	if err != nil {
		return newResponse(req, 400, "Bad From: want a 20-digit device id"), ""
	}
	src := req.Source()
	ip := hostOf(src)
	// the device's attributes, added per line: slog.With costs on every REGISTER
	log := func(lvl slog.Level, msg string, args ...any) {
		s.log.Log(context.Background(), lvl, msg, append([]any{"device", id, "source", src}, args...)...)
	}
	if limited, wait := s.auth.throttled(ip, now); limited {
		res := newResponse(req, 503, "Too Many Failed Registrations")
		res.AppendHeader(&sip.GenericHeader{HeaderName: "Retry-After", Contents: strconv.Itoa(int(wait.Seconds()) + 1)})
		return res, ""
	}
	dev, _, err := s.reg.device(ctx, id)
	if err != nil && !errors.Is(err, ErrDeviceNotFound) {
		log(slog.LevelWarn, "REGISTER: registry unavailable", "err", err)
		return newResponse(req, 500, "Server Internal Error"), ""
	}
	password := dev.Password
	if password == "" {
		password = s.cfg.SIP.Password
	}
	if password == "" {
		log(slog.LevelInfo, "REGISTER refused: no password for this device")
		return newResponse(req, 403, "Forbidden"), ""
	}

	if !hasDigest(req) {
		return s.challenge(req, now, false), ""
	}
	creds := parseDigestCreds(req.GetHeaders("Authorization")[0].Value())
	ok := checkDigest(creds, password, string(req.Method()))
	if !s.auth.consume(creds.Nonce, now) {
		// Unknown, used or expired nonce: challenge again; stale=true tells a
		// device whose password was right to retry without asking its user.
		return s.challenge(req, now, ok), ""
	}
	if !ok {
		s.auth.fail(ip, now)
		log(slog.LevelInfo, "REGISTER refused: wrong digest", "username", creds.Username, "algorithm", creds.Algorithm)
		return newResponse(req, 403, "Forbidden"), ""
	}
	if creds.Realm != s.cfg.SIP.Domain {
		log(slog.LevelDebug, "REGISTER with a foreign realm accepted", "realm", creds.Realm)
	}
	return s.registered(ctx, req, id, now)
}

// challenge builds a 401 with a fresh nonce.
func (s *Server) challenge(req sip.Request, now time.Time, stale bool) sip.Response {
	res := newResponse(req, 401, "Unauthorized")
	res.AppendHeader(&sip.GenericHeader{HeaderName: "WWW-Authenticate", Contents: s.auth.challenge(now, stale)})
	return res
}

// registered stores an authenticated REGISTER (or unREGISTER) and builds its 200.
func (s *Server) registered(ctx context.Context, req sip.Request, id DeviceID, now time.Time) (sip.Response, DeviceID) {
	expires := requestedExpires(req)
	if lim := int(s.cfg.SIP.RegisterExpires.D() / time.Second); expires > lim {
		expires = lim
	}
	src, transport := req.Source(), networkName(req.Transport())
	contact := ""
	if c, ok := req.Contact(); ok && c.Address != nil {
		contact = c.Address.String()
	}
	before, after, err := s.reg.update(ctx, id, func(d *Device, exists bool) error {
		if expires == 0 {
			if !exists {
				return errSkip
			}
			d.Online = false
			d.Expires = 0
			return nil
		}
		if !exists {
			d.Transport = s.cfg.MediaTransport
		}
		if d.Region == "" {
			d.Region = id.Region()
		}
		d.RemoteAddr, d.SIPTransport, d.Contact = src, transport, contact
		d.Online = true
		d.RegisteredAt = now
		d.Expires = expires
		return nil
	})
	if err != nil {
		s.log.Warn("REGISTER: cannot save device", "device", id, "err", err)
		return newResponse(req, 500, "Server Internal Error"), ""
	}

	res := newResponse(req, 200, "OK")
	if to, ok := res.To(); ok {
		if to.Params == nil {
			to.Params = sip.NewParams()
		}
		if !to.Params.Has("tag") {
			to.Params.Add("tag", sip.String{Str: randomToken(8)})
		}
	}
	if c, ok := req.Contact(); ok && expires > 0 {
		res.AppendHeader(c.Clone())
	}
	res.AppendHeader(&sip.GenericHeader{HeaderName: "Date", Contents: now.In(s.cfg.Location).Format(dateLayout)})
	exp := sip.Expires(expires)
	res.AppendHeader(&exp)

	log := func(lvl slog.Level, msg string, args ...any) {
		s.log.Log(context.Background(), lvl, msg, append([]any{"device", id, "source", src, "transport", transport}, args...)...)
	}
	switch {
	case expires == 0:
		log(slog.LevelInfo, "device unregistered")
		if before.Online {
			s.publish(EventOffline, after, "unregister", nil)
		}
		s.subs.drop(id)
		return res, ""
	case !before.Online:
		log(slog.LevelInfo, "device registered", "expires", expires)
		s.publish(EventRegistered, after, "", nil)
		s.publish(EventOnline, after, "", nil)
		return res, id
	default:
		if before.RemoteAddr != after.RemoteAddr {
			log(slog.LevelInfo, "device address changed", "old", before.RemoteAddr)
		}
		log(slog.LevelDebug, "registration refreshed", "expires", expires)
		s.publish(EventRegistered, after, "", nil)
		return res, ""
	}
}

// requestedExpires reads the lifetime from the Expires header, else the
// Contact's expires parameter, else the default.
func requestedExpires(req sip.Request) int {
	if hs := req.GetHeaders("Expires"); len(hs) > 0 {
		if n, err := strconv.Atoi(strings.TrimSpace(hs[0].Value())); err == nil && n >= 0 {
			return n
		}
	}
	if c, ok := req.Contact(); ok && c.Params != nil {
		if v, ok := c.Params.Get("expires"); ok && v != nil {
			if n, err := strconv.Atoi(strings.TrimSpace(v.String())); err == nil && n >= 0 {
				return n
			}
		}
	}
	return defaultExpires
}

// hostOf returns the host of an ip:port ("" for garbage).
func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
