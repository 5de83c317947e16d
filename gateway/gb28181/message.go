package gb28181

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ghettovoice/gosip/sip"

	"pingan/gateway/gb28181/manscdp"
)

// inbound is a MANSCDP body with where it came from.
type inbound struct {
	from      DeviceID // From user: the sending device
	source    string   // ip:port it came from (received/rport applied)
	transport string   // udp or tcp
	body      []byte
}

// onMessage answers a MESSAGE at once (200, or 400 for an unreadable body)
// and then acts on it (GB/T 28181-2016 §9.3; digest §5).
func (s *Server) onMessage(req sip.Request, tx sip.ServerTransaction) {
	s.onManscdp(req, tx)
}

// onNotify handles NOTIFY for our subscriptions (catalog changes, §9.11)
// the same way as a MESSAGE.
func (s *Server) onNotify(req sip.Request, tx sip.ServerTransaction) {
	if st := req.GetHeaders("Subscription-State"); len(st) > 0 && strings.HasPrefix(strings.ToLower(st[0].Value()), "terminated") {
		if id, err := ParseDeviceID(fromID(req)); err == nil {
			s.subs.drop(id)
		}
	}
	s.onManscdp(req, tx)
}

func (s *Server) onManscdp(req sip.Request, tx sip.ServerTransaction) {
	ctx, cancel := s.reqContext()
	defer cancel()
	s.handleManscdpRequest(ctx, req, []byte(req.Body()), func(code sip.StatusCode, reason string) {
		s.reply(tx, req, code, reason)
	})
}

// handleManscdpRequest answers a MESSAGE or NOTIFY with a MANSCDP body
// through reply (200, or 400 for an unreadable body) and then acts on it.
func (s *Server) handleManscdpRequest(ctx context.Context, req sip.Request, body []byte, reply func(sip.StatusCode, string)) {
	in := inbound{
		from:      DeviceID(fromID(req)),
		source:    req.Source(),
		transport: networkName(req.Transport()),
		body:      body,
	}
	if _, ok := manscdp.ScanKeepalive(in.body); ok {
		// The bulk of all traffic: no tree, no device lookup before the 200.
		reply(200, "OK")
		s.keepalive(ctx, in)
		return
	}
	dev, known := s.knownDevice(ctx, in.from)
	msg, err := parseBody(in.body, dev.Charset)
	if err != nil {
		s.log.Debug("unreadable MANSCDP body", "from", in.from, "source", in.source, "err", err)
		reply(400, "Bad Request")
		return
	}
	reply(200, "OK")
	s.dispatch(ctx, in, dev, known, msg)
}

// statelessMessage takes a MESSAGE before gosip's transaction layer and
// answers it without a server transaction (a stateless UAS, RFC 3261
// §8.2.7) when it is a Keepalive or a Response: nearly all SIP traffic at
// steady state, and three of a new device's messages after it registers.
// The transaction (its logger fields, state machine, goroutine and 32 s
// timer, the handler goroutine) cost more than handling these bodies.
// A retransmitted one is answered and applied again, which changes
// nothing: a keepalive moves LastKeepalive, a response finds its query
// already answered (catalog pages are deduplicated by item). Notifies
// other than Keepalive (alarms, media status) keep their transaction, so
// retransmits are absorbed. It reports false, leaving the request to the
// transaction layer, for anything else or when the server is not running.
func (s *Server) statelessMessage(req sip.Request) bool {
	if req.Method() != sip.MESSAGE {
		return false
	}
	srv := s.SIP()
	if srv == nil {
		return false
	}
	body := []byte(req.Body())
	if _, ok := manscdp.ScanKeepalive(body); !ok && !strings.EqualFold(manscdp.RootName(body), string(manscdp.KindResponse)) {
		return false
	}
	return s.background(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s.handleManscdpRequest(ctx, req, body, func(code sip.StatusCode, reason string) {
			res := newResponse(req, code, reason)
			if ua := s.cfg.UserAgent; ua != "" {
				res.AppendHeader(&sip.GenericHeader{HeaderName: "Server", Contents: ua})
			}
			if err := srv.Send(res); err != nil {
				s.log.Debug("SIP respond failed", "status", code, "to", res.Destination(), "err", err)
			}
		})
	})
}

// knownDevice loads the sender, if it is a device we know.
func (s *Server) knownDevice(ctx context.Context, id DeviceID) (Device, bool) {
	if _, err := ParseDeviceID(string(id)); err != nil {
		return Device{}, false
	}
	d, _, err := s.reg.device(ctx, id)
	return d, err == nil
}

// parseBody parses with the device's charset when it has one.
func parseBody(body []byte, charset string) (*manscdp.Message, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "gb18030", "gbk", "gb2312":
		return manscdp.ParseCharset(body, charset)
	}
	return manscdp.Parse(body)
}

// handleManscdp parses and acts on one body; the fuzz target. It never panics.
func (s *Server) handleManscdp(ctx context.Context, in inbound) error {
	dev, known := s.knownDevice(ctx, in.from)
	msg, err := parseBody(in.body, dev.Charset)
	if err != nil {
		return err
	}
	s.dispatch(ctx, in, dev, known, msg)
	return nil
}

// dispatch routes a parsed body by class and CmdType.
func (s *Server) dispatch(ctx context.Context, in inbound, dev Device, known bool, msg *manscdp.Message) {
	switch msg.Kind {
	case manscdp.KindResponse:
		if !s.wait.deliver(waitKey{dev: in.from, cmd: msg.CmdType, sn: msg.SN}, msg) {
			s.log.Debug("unsolicited MANSCDP response", "device", in.from, "cmd", msg.CmdType, "sn", msg.SN)
		}
	case manscdp.KindNotify:
		if msg.CmdType == manscdp.CmdKeepalive {
			s.keepalive(ctx, in)
			return
		}
		if !known {
			s.log.Debug("notify from an unknown device ignored", "from", in.from, "cmd", msg.CmdType)
			return
		}
		switch msg.CmdType {
		case manscdp.CmdCatalog:
			if err := s.applyCatalogNotify(ctx, dev, msg); err != nil {
				s.log.Warn("catalog notify not applied", "device", dev.ID, "err", err)
			}
		case manscdp.CmdAlarm:
			s.ackAlarm(dev, msg)
		}
		if h, ok := s.notifyHooks[msg.CmdType]; ok {
			h(ctx, dev, msg)
		}
	default:
		// Queries and controls from devices (cascade) and unknown classes:
		// answered 200 above and otherwise ignored (§16: be polite).
		s.log.Debug("MANSCDP message ignored", "from", in.from, "kind", msg.Kind, "cmd", msg.CmdType)
	}
}

// ackAlarm answers an Alarm notify with Result OK; devices resend until
// they get it (digest §9).
func (s *Server) ackAlarm(dev Device, msg *manscdp.Message) {
	if !dev.Online {
		return
	}
	body, err := s.Marshal(dev, manscdp.AlarmResponse(msg.SN, msg.DeviceID))
	if err != nil {
		return
	}
	s.background(func(ctx context.Context) {
		if err := s.sendMessage(ctx, dev, body); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Debug("alarm acknowledgement not delivered", "device", dev.ID, "err", err)
		}
	})
}
