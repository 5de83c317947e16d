package gb28181

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ghettovoice/gosip"
	"github.com/ghettovoice/gosip/sip"

	"pingan/gateway/gb28181/manscdp"
)

// ContentTypeMANSCDP is the Content-Type of MANSCDP bodies.
const ContentTypeMANSCDP = "Application/MANSCDP+xml"

// Dialog carries the identifiers that put a request inside an existing
// dialog (SUBSCRIBE refresh, BYE, INFO). The zero Dialog starts a new one.
type Dialog struct {
	CallID  string
	FromTag string
	ToTag   string
	CSeq    uint32
}

// NewRequest builds a request from the platform to target (dev itself or
// one of its channels). It is addressed to the device's saved source
// address (SetDestination: NAT and TCP devices are reached where they last
// spoke from, over the same TCP connection) and pinned to the device's SIP
// transport (SetTransport: gosip would otherwise silently switch requests
// over ~1300 bytes from UDP to TCP). Request-URI and To name target;
// From is the platform id at our domain with a new tag; Contact is our ip:port.
// For a request inside a dialog, pass its Dialog; otherwise the zero Dialog.
func (s *Server) NewRequest(method sip.RequestMethod, dev Device, target DeviceID, contentType string, body []byte, dlg Dialog) (sip.Request, error) {
	if dev.RemoteAddr == "" {
		return nil, fmt.Errorf("%w: %s has no address", ErrOffline, dev.ID)
	}
	host, portStr, err := net.SplitHostPort(dev.RemoteAddr)
	if err != nil {
		return nil, fmt.Errorf("device %s address %q: %w", dev.ID, dev.RemoteAddr, err)
	}
	p, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("device %s address %q: bad port", dev.ID, dev.RemoteAddr)
	}
	port := sip.Port(p)
	transport := strings.ToUpper(networkName(dev.SIPTransport))
	if dlg.CallID == "" {
		dlg.CallID = randomToken(12) + "@" + s.cfg.SIP.IP
	}
	if dlg.FromTag == "" {
		dlg.FromTag = randomToken(6)
	}
	if dlg.CSeq == 0 {
		dlg.CSeq = s.cseq.Add(1)
	}
	toParams := sip.NewParams()
	if dlg.ToTag != "" {
		toParams.Add("tag", sip.String{Str: dlg.ToTag})
	}
	ourPort := sip.Port(0)
	if n, err := strconv.Atoi(s.cfg.listenPort()); err == nil {
		ourPort = sip.Port(n)
	}
	callID := sip.CallID(dlg.CallID)
	ua := sip.UserAgentHeader(s.cfg.UserAgent)
	b := sip.NewRequestBuilder().
		SetMethod(method).
		SetTransport(transport).
		SetHost(s.cfg.SIP.IP).
		SetRecipient(&sip.SipUri{FUser: sip.String{Str: string(target)}, FHost: host, FPort: &port}).
		SetFrom(&sip.Address{
			Uri:    &sip.SipUri{FUser: sip.String{Str: s.cfg.SIP.ID}, FHost: s.cfg.SIP.Domain},
			Params: sip.NewParams().Add("tag", sip.String{Str: dlg.FromTag}),
		}).
		SetTo(&sip.Address{Uri: &sip.SipUri{FUser: sip.String{Str: string(target)}, FHost: s.cfg.SIP.Domain}, Params: toParams}).
		SetContact(&sip.Address{Uri: &sip.SipUri{FUser: sip.String{Str: s.cfg.SIP.ID}, FHost: s.cfg.SIP.IP, FPort: &ourPort}}).
		SetCallID(&callID).
		SetSeqNo(uint(dlg.CSeq)).
		SetUserAgent(&ua).
		AddVia(&sip.ViaHop{
			Transport: transport,
			Params:    sip.NewParams().Add("branch", sip.String{Str: sip.GenerateBranch()}).Add("rport", nil),
		})
	if contentType != "" {
		ct := sip.ContentType(contentType)
		b.SetContentType(&ct)
	}
	if len(body) > 0 {
		b.SetBody(string(body))
	}
	req, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", method, err)
	}
	req.SetDestination(dev.RemoteAddr)
	req.SetTransport(transport)
	return req, nil
}

// Do sends req and waits for its final response, bounded by ctx (or by
// the query timeout when ctx has none). A non-2xx final response is an error.
func (s *Server) Do(ctx context.Context, req sip.Request) (sip.Response, error) {
	srv := s.SIP()
	if srv == nil {
		return nil, ErrNotRunning
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.QueryTimeout)
		defer cancel()
	}
	var res sip.Response
	var err error
	if req.IsInvite() {
		res, err = srv.RequestWithContext(ctx, req)
	} else {
		res, err = doNonInvite(ctx, srv, req)
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s to %s: %w", req.Method(), req.Destination(), ErrTimeout)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s to %s: %w", req.Method(), req.Destination(), ctx.Err())
		}
		return nil, fmt.Errorf("%s to %s: %w", req.Method(), req.Destination(), err)
	}
	return res, nil
}

// SendMessage sends a MANSCDP body as a MESSAGE to an online device and
// waits for its 200 OK (GB/T 28181-2016 §9.3).
func (s *Server) SendMessage(ctx context.Context, deviceID DeviceID, body []byte) error {
	dev, _, err := s.reg.device(ctx, deviceID)
	if err != nil {
		return err
	}
	return s.sendMessage(ctx, dev, body)
}

func (s *Server) sendMessage(ctx context.Context, dev Device, body []byte) error {
	if !dev.Online {
		return fmt.Errorf("%w: %s", ErrOffline, dev.ID)
	}
	req, err := s.NewRequest(sip.MESSAGE, dev, dev.ID, ContentTypeMANSCDP, body, Dialog{})
	if err != nil {
		return err
	}
	_, err = s.Do(ctx, req)
	return err
}

// Marshal encodes doc in the device's charset (or the configured default).
func (s *Server) Marshal(dev Device, doc *manscdp.Node) ([]byte, error) {
	name := dev.Charset
	if name == "" {
		name = s.cfg.Charset
	}
	cs, err := manscdp.LookupCharset(name)
	if err != nil {
		cs = manscdp.GB2312
	}
	return manscdp.Marshal(doc, cs)
}

// nextSN returns a fresh MANSCDP SN.
func (s *Server) nextSN() int {
	return int(s.sn.Add(1)%1_000_000_000) + 1
}

// randomToken returns n random bytes as hex.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// doNonInvite sends a non-INVITE request and waits for its final response,
// as RequestWithContext does, then ends the client transaction txLinger
// later. gosip keeps a completed non-INVITE client transaction for Timer
// D (32 s; RFC 3261 says Timer K, 5 s) with two goroutines: the syncs
// after a burst of 10,000 registrations (four requests each) held ~32,000
// of them, 700 MB of heap.
func doNonInvite(ctx context.Context, srv gosip.Server, req sip.Request) (sip.Response, error) {
	tx, err := srv.Request(req)
	if err != nil {
		return nil, err
	}
	responses, errs := tx.Responses(), tx.Errors()
	for {
		select {
		case res, ok := <-responses:
			if !ok {
				return nil, sip.NewRequestError(487, "Request Terminated", req, nil)
			}
			if res.IsProvisional() {
				continue
			}
			endClientTxLater(tx)
			if res.IsSuccess() {
				return res, nil
			}
			return nil, sip.NewRequestError(uint(res.StatusCode()), res.Reason(), req, res)
		case err, ok := <-errs:
			if !ok {
				errs = nil // closed: the responses channel closes next
				continue
			}
			return nil, err
		case <-ctx.Done():
			_ = tx.Cancel()
			return nil, ctx.Err()
		}
	}
}

// endClientTxLater ends a client transaction that has its final response
// txLinger from now. Only then: gosip's retransmit timer may still fire on
// one that has not, and dereferences what Terminate cleared (client_tx.go
// act_non_invite_resend). One without a response ends by itself (Timer F).
func endClientTxLater(tx sip.ClientTransaction) {
	if t, ok := tx.(interface{ Terminate() }); ok {
		time.AfterFunc(txLinger, t.Terminate)
	}
}
