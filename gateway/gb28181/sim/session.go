package sim

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghettovoice/gosip/sip"

	"pingan/gateway/gb28181/sdp"
)

// ackTimeout bounds the wait for the platform's ACK after our 200.
const ackTimeout = 10 * time.Second

// Media transports of a session, from the device's side.
const (
	mediaUDP       = "udp"        // send datagrams to the offer's c=/m=
	mediaTCPDial   = "tcp-dial"   // the platform listens (setup:passive): dial it
	mediaTCPListen = "tcp-listen" // the platform dials (setup:active): listen
)

// session is one INVITE dialog: the answer, then the media after ACK.
type session struct {
	u       *ua
	dev     *device
	channel string
	callID  string
	invite  sip.Request
	toTag   string
	ssrc    uint32
	y       string
	mode    string
	remote  string // the offer's media address
	log     *slog.Logger

	udp *net.UDPConn
	ln  *net.TCPListener

	ctx      context.Context
	cancel   context.CancelFunc
	ack      chan struct{}
	ackOnce  sync.Once
	keyframe atomic.Bool
}

// onInvite answers a live-play INVITE for a channel (GB/T 28181-2016 §9.2;
// gb28181.md §11): parse the offer, open the media socket, answer 200 with
// our SDP (sendonly, same y=), and stream after the ACK.
func (u *ua) onInvite(req sip.Request, tx sip.ServerTransaction) {
	d, ch := u.target(req)
	if d == nil {
		u.respond(req, tx, 404, "Not Found")
		return
	}
	if ch == d.id {
		ch = d.channels[0] // an IPC invited by its own id plays its camera
	}
	offer, err := sdp.Parse([]byte(req.Body()))
	if err != nil {
		d.log.Warn("INVITE without a usable SDP offer", "err", err)
		u.respond(req, tx, 488, "Not Acceptable Here")
		return
	}
	s, err := newSession(u, d, ch, req, offer)
	if err != nil {
		d.log.Warn("INVITE refused", "channel", ch, "err", err)
		u.respond(req, tx, 488, "Not Acceptable Here")
		return
	}
	body := ""
	if !u.cfg.AnswerWithoutSDP {
		body = string(s.answer(offer).Marshal())
	}
	res := sip.NewResponseFromRequest("", req, 200, "OK", body)
	if to, ok := res.To(); ok {
		to = to.Clone().(*sip.ToHeader)
		if to.Params == nil {
			to.Params = sip.NewParams()
		}
		to.Params.Add("tag", sip.String{Str: s.toTag})
		res.ReplaceHeaders("To", []sip.Header{to})
	}
	port := sip.Port(u.port)
	res.AppendHeader(&sip.ContactHeader{Address: &sip.SipUri{FUser: sip.String{Str: ch}, FHost: u.cfg.LocalIP, FPort: &port}})
	if body != "" {
		ct := sip.ContentType("APPLICATION/SDP")
		res.AppendHeader(&ct)
	}
	u.addSession(s)
	u.wg.Go(s.run)
	s.log.Info("INVITE answered", "mode", s.mode, "remote", s.remote, "ssrc", s.y, "sdp", body != "")
	u.send(tx, res)
}

func newSession(u *ua, d *device, ch string, req sip.Request, offer *sdp.Session) (*session, error) {
	cid, ok := req.CallID()
	if !ok {
		return nil, fmt.Errorf("no Call-ID")
	}
	s := &session{
		u: u, dev: d, channel: ch, callID: cid.Value(), invite: req, toTag: randToken(8),
		remote: net.JoinHostPort(offer.IP, strconv.Itoa(offer.Port)), ack: make(chan struct{}),
	}
	s.y = offer.SSRC
	v, err := sdp.SSRCValue(s.y)
	if err != nil { // no or malformed y=: make one up, as devices do
		s.y = sdp.SSRC(true, u.cfg.Domain, rand.IntN(10000))
		v, _ = sdp.SSRCValue(s.y)
	}
	s.ssrc = v
	s.log = d.log.With("channel", ch, "call", s.callID)
	s.ctx, s.cancel = context.WithCancel(d.ctx)
	switch {
	case !offer.TCP:
		s.mode = mediaUDP
		raddr, err := net.ResolveUDPAddr("udp", s.remote)
		if err != nil {
			return nil, err
		}
		s.udp, err = net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(u.cfg.LocalIP)}, raddr)
		if err != nil {
			return nil, err
		}
	case offer.Setup == sdp.SetupActive:
		s.mode = mediaTCPListen
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP(u.cfg.LocalIP)})
		if err != nil {
			return nil, err
		}
		s.ln = ln
	default:
		s.mode = mediaTCPDial
	}
	return s, nil
}

// answer is our SDP: where media comes from, sendonly, the offer's y=.
func (s *session) answer(offer *sdp.Session) *sdp.Session {
	a := &sdp.Session{
		Name: offer.Name, Origin: s.channel, IP: s.u.cfg.LocalIP, Start: offer.Start, Stop: offer.Stop,
		Media: "video", TCP: offer.TCP, Direction: "sendonly", Formats: []sdp.Format{sdp.FormatPS}, SSRC: s.y,
		F: "v/2/5/25/1/600a/1/8/1",
	}
	switch s.mode {
	case mediaUDP:
		a.Port = s.udp.LocalAddr().(*net.UDPAddr).Port
	case mediaTCPListen:
		a.Port, a.Setup = s.ln.Addr().(*net.TCPAddr).Port, sdp.SetupPassive
	case mediaTCPDial:
		a.Port, a.Setup = 9, sdp.SetupActive // RFC 4145 §4.1: the active side's port is 9
	}
	return a
}

func (s *session) acked()           { s.ackOnce.Do(func() { close(s.ack) }) }
func (s *session) requestKeyframe() { s.keyframe.Store(true) }

func (s *session) isAcked() bool {
	select {
	case <-s.ack:
		return true
	default:
		return false
	}
}

// stop ends the session (BYE, CANCEL, shutdown); the media goroutine exits.
func (s *session) stop() {
	s.cancel()
	if s.ln != nil {
		s.ln.Close()
	}
}

// run waits for the ACK, connects the media and streams until stopped.
func (s *session) run() {
	defer s.u.removeSession(s)
	defer s.stop()
	t := time.NewTimer(ackTimeout)
	defer t.Stop()
	select {
	case <-s.ack:
	case <-s.ctx.Done():
		return
	case <-t.C:
		s.log.Warn("no ACK for our 200; session dropped")
		return
	}
	w, err := s.connect()
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Warn("media connect failed", "mode", s.mode, "remote", s.remote, "err", err)
		}
		return
	}
	defer w.Close()
	s.log.Info("streaming", "mode", s.mode, "remote", s.remote, "ssrc", s.y)
	if s.stream(w) {
		s.bye()
	}
	s.log.Info("stream stopped")
}

// bye ends the dialog from the device's side (the stream ended).
func (s *session) bye() {
	inv := s.invite
	from, _ := inv.From()
	to, _ := inv.To()
	ourAddr := &sip.Address{Uri: to.Address.Clone(), Params: sip.NewParams().Add("tag", sip.String{Str: s.toTag})}
	theirAddr := &sip.Address{Uri: from.Address.Clone(), Params: from.Params.Clone()}
	recipient := from.Address.Clone()
	if cs := inv.GetHeaders("Contact"); len(cs) > 0 {
		if c, ok := cs[0].(*sip.ContactHeader); ok && c.Address != nil {
			recipient = c.Address.Clone()
		}
	}
	cid := sip.CallID(s.callID)
	req, err := sip.NewRequestBuilder().SetMethod(sip.BYE).SetTransport(s.u.transport).SetHost(s.u.cfg.LocalIP).
		SetRecipient(recipient).SetFrom(ourAddr).SetTo(theirAddr).SetCallID(&cid).SetSeqNo(uint(rand.IntN(1000) + 1)).
		AddVia(&sip.ViaHop{Params: sip.NewParams().Add("branch", sip.String{Str: sip.GenerateBranch()}).Add("rport", nil)}).
		Build()
	if err != nil {
		s.log.Warn("build BYE", "err", err)
		return
	}
	req.SetDestination(inv.Source())
	req.SetTransport(s.u.transport)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 5*time.Second)
	defer cancel()
	if _, err := s.u.srv.RequestWithContext(ctx, req); err != nil {
		s.log.Warn("BYE failed", "err", err)
		return
	}
	s.log.Info("sent BYE")
}
