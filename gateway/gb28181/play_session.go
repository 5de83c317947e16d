package gb28181

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghettovoice/gosip"
	"github.com/ghettovoice/gosip/sip"

	"pingan/gateway/gb28181/rtpin"
	"pingan/gateway/gb28181/sdp"
)

// byeTimeout bounds the BYE we send when a session ends.
const byeTimeout = 3 * time.Second

// errNoAnswerSDP: a TCP active session whose 200 OK had no SDP (we cannot
// know where to dial). The dialog has been closed with BYE already.
var errNoAnswerSDP = errors.New("gb28181: 200 OK without SDP for TCP active")

// playSession is one live-play dialog: INVITE, 200, ACK, media, BYE
// (GB/T 28181-2016 §9.2; digest §11).
type playSession struct {
	s       *Server
	dev     Device
	channel DeviceID
	mode    rtpin.Mode
	seq     int    // SSRC sequence from the pool
	y       string // the SSRC as offered (y=)
	recv    *rtpin.Receiver
	w       *unitWriter
	dlg     Dialog // for our BYE: Call-ID, our tag, the device's tag, next CSeq
	log     *slog.Logger
	started time.Time

	bye     chan struct{} // closed when the device sends BYE
	byeOnce sync.Once

	kfMu   sync.Mutex
	kfLast time.Time
	kfBusy atomic.Bool
	kfWG   sync.WaitGroup
	ctx    context.Context // the session's context while it runs, for keyframe requests
}

// mediaIP is the address the device must send media to (SDP c=): our
// loopback address for a device on loopback, else sip.ip (never 127.0.0.1
// for a remote device: digest §11, the #1 misconfiguration).
func (s *Server) mediaIP(dev Device) string {
	host := hostOf(dev.RemoteAddr)
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return ip.String()
	}
	if ip := net.ParseIP(s.cfg.SIP.IP); ip != nil && ip.IsLoopback() {
		s.log.Warn("sip.ip is a loopback address but the device is remote: it cannot send media to us; set sip.ip",
			"device", dev.ID, "device_addr", dev.RemoteAddr, "sip_ip", s.cfg.SIP.IP)
	}
	return s.cfg.SIP.IP
}

// openSession allocates an SSRC and a port, INVITEs the channel, ACKs the
// 2xx and prepares the receiver from the answer.
func (s *Server) openSession(ctx context.Context, ch DeviceID, dev Device, mode rtpin.Mode, w *unitWriter) (*playSession, error) {
	srv := s.SIP()
	if srv == nil {
		return nil, ErrNotRunning
	}
	seq, err := s.play.ssrc.acquire()
	if err != nil {
		return nil, err
	}
	ss := &playSession{
		s: s, dev: dev, channel: ch, mode: mode, seq: seq, w: w, bye: make(chan struct{}),
		y:   sdp.SSRC(true, s.cfg.SIP.Domain, seq),
		log: s.log.With("device", dev.ID, "channel", ch, "mode", string(mode)),
	}
	rlog := s.log.With("device", dev.ID, "channel", ch) // rtpin adds mode and port
	ssrc, _ := sdp.SSRCValue(ss.y)
	ss.recv, err = rtpin.New(rtpin.Config{
		Mode: mode, Ports: s.play.ports, SSRC: ssrc, Timeout: s.cfg.MediaTimeout,
		OnFrame: w.push, Logger: rlog,
	})
	if err != nil {
		s.play.ssrc.release(seq)
		return nil, fmt.Errorf("play %s: media port: %w", ch, err)
	}
	if err := ss.invite(ctx, srv); err != nil {
		ss.release()
		return nil, err
	}
	return ss, nil
}

// offer is our SDP: where the device sends (c=/m=), how, and the SSRC.
func (ss *playSession) offer() *sdp.Session {
	o := &sdp.Session{
		Name: sdp.NamePlay, Origin: string(ss.s.PlatformID()), IP: ss.s.mediaIP(ss.dev),
		Port: ss.recv.Port(), Direction: "recvonly", Formats: []sdp.Format{sdp.FormatPS}, SSRC: ss.y,
	}
	switch ss.mode {
	case rtpin.ModeTCPPassive:
		o.TCP, o.Setup = true, sdp.SetupPassive
	case rtpin.ModeTCPActive:
		o.TCP, o.Setup = true, sdp.SetupActive
	}
	return o
}

// invite sends the INVITE, waits for the final answer, ACKs it and applies
// the answer's SDP to the receiver.
func (ss *playSession) invite(ctx context.Context, srv gosip.Server) error {
	s := ss.s
	req, err := s.NewRequest(sip.INVITE, ss.dev, ss.channel, "APPLICATION/SDP", ss.offer().Marshal(), Dialog{})
	if err != nil {
		return fmt.Errorf("play %s: %w", ss.channel, err)
	}
	req.AppendHeader(&sip.GenericHeader{HeaderName: "Subject",
		Contents: fmt.Sprintf("%s:%s,%s:0", ss.channel, ss.y, s.PlatformID())})
	ss.dlg = dialogOf(req)
	ss.dlg.CSeq++  // our BYE follows the INVITE
	s.play.add(ss) // before sending: a BYE may race the 200
	ictx, cancel := context.WithTimeout(ctx, s.cfg.InviteTimeout)
	defer cancel()
	ss.started = time.Now()
	res, err := srv.RequestWithContext(ictx, req)
	if err != nil {
		if errors.Is(ictx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("%w (no final answer within %s; cancelled)", ErrTimeout, s.cfg.InviteTimeout)
		}
		return fmt.Errorf("play %s: INVITE: %w", ss.channel, err)
	}
	if err := srv.Send(sip.NewAckRequest("", req, res, "", nil)); err != nil {
		return fmt.Errorf("play %s: ACK: %w", ss.channel, err)
	}
	if to, ok := res.To(); ok && to.Params != nil {
		if tag, ok := to.Params.Get("tag"); ok && tag != nil {
			ss.dlg.ToTag = tag.String()
		}
	}
	return ss.applyAnswer(res)
}

// applyAnswer reads the device's SDP: its y= SSRC (used when it differs
// from ours) and, for TCP active, the address to dial. A 200 without SDP
// still plays: any SSRC is accepted (digest §11, §17).
func (ss *playSession) applyAnswer(res sip.Response) error {
	body := []byte(res.Body())
	var ans *sdp.Session
	if len(body) > 0 {
		a, err := sdp.Parse(body)
		if err != nil {
			ss.log.Warn("unreadable SDP answer; playing without it", "err", err)
		} else {
			ans = a
		}
	}
	if ans == nil {
		ss.recv.SetSSRC(0)
		if ss.mode == rtpin.ModeTCPActive {
			ss.sendBye()
			return errNoAnswerSDP
		}
		ss.log.Info("200 OK without SDP: accepting any SSRC")
		return nil
	}
	if ans.SSRC != "" && ans.SSRC != ss.y {
		if v, err := sdp.SSRCValue(ans.SSRC); err == nil {
			ss.log.Info("device answered another SSRC; using it", "offered", ss.y, "answered", ans.SSRC)
			ss.recv.SetSSRC(v)
		} else {
			ss.log.Warn("device answered a malformed y=; accepting any SSRC", "y", ans.SSRC)
			ss.recv.SetSSRC(0)
		}
	}
	if ss.mode == rtpin.ModeTCPActive {
		host := ans.IP
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			host = hostOf(ss.dev.RemoteAddr) // no usable c=: the device's SIP address
		}
		if ans.Port <= 0 {
			ss.sendBye()
			return fmt.Errorf("play %s: TCP active answer without a media port", ss.channel)
		}
		ss.recv.SetRemote(net.JoinHostPort(host, strconv.Itoa(ans.Port)))
	}
	return nil
}

// run receives until ctx ends (BYE; nil), the device sends BYE, the media
// times out or the device goes offline (errors).
func (ss *playSession) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ss.kfMu.Lock()
	ss.ctx = ctx
	ss.kfMu.Unlock()
	defer ss.release()
	evs := ss.s.Events(ctx)
	recvErr := make(chan error, 1)
	go func() { recvErr <- ss.recv.Run(ctx) }()
	defer func() {
		cancel()
		<-recvErr
		ss.kfMu.Lock()
		ss.ctx = nil // no new keyframe requests
		ss.kfMu.Unlock()
		ss.kfWG.Wait()
	}()
	go ss.logFirstKeyframe(ctx)
	for {
		select {
		case <-ctx.Done():
			ss.log.Info("play stopped: no readers")
			ss.sendBye()
			return nil
		case err := <-recvErr:
			recvErr <- err // for the deferred wait
			if ctx.Err() != nil {
				ss.sendBye()
				return nil
			}
			st := ss.recv.Stats()
			ss.log.Warn("play media ended", "err", err, "expected_ssrc", ss.y, "ssrc", fmt.Sprintf("%010d", st.SSRC),
				"source", st.Source, "packets", st.Packets, "wrong_ssrc", st.WrongSSRC, "frames", st.Frames)
			ss.sendBye()
			if err == nil {
				err = errors.New("media receiver stopped")
			}
			return fmt.Errorf("play %s: %w", ss.channel, err)
		case <-ss.bye:
			ss.log.Info("device ended the session (BYE)")
			return fmt.Errorf("play %s: %w", ss.channel, ErrDeviceBye)
		case ev, ok := <-evs:
			if !ok {
				return fmt.Errorf("play %s: %w", ss.channel, ErrNotRunning)
			}
			if ev.Type == EventOffline && ev.DeviceID == ss.dev.ID {
				ss.log.Warn("device went offline; play ended", "reason", ev.Reason)
				ss.sendBye()
				return fmt.Errorf("play %s: %w", ss.channel, ErrDeviceOffline)
			}
		}
	}
}

// logFirstKeyframe logs the INVITE → first keyframe latency.
func (ss *playSession) logFirstKeyframe(ctx context.Context) {
	select {
	case <-ss.w.firstKeyframe:
		ss.log.Info("play started", "ssrc", ss.y, "first_keyframe_after", time.Since(ss.started).Round(time.Millisecond))
	case <-ctx.Done():
	}
}

// release frees the port, the SSRC and the Call-ID entry.
func (ss *playSession) release() {
	ss.recv.Close()
	ss.s.play.remove(ss)
	ss.s.play.ssrc.release(ss.seq)
}

func (ss *playSession) remoteBye() { ss.byeOnce.Do(func() { close(ss.bye) }) }

// sendBye ends the dialog from our side. It does not wait for the answer:
// gosip cannot cancel a non-INVITE request, so a device that is gone would
// hold the caller for timer F (32 s); the BYE runs in the background,
// owned by Run, bounded by byeTimeout where gosip allows.
func (ss *playSession) sendBye() {
	if ss.dlg.ToTag == "" {
		return // no dialog was established
	}
	req, err := ss.s.NewRequest(sip.BYE, ss.dev, ss.channel, "", nil, ss.dlg)
	if err != nil {
		ss.log.Debug("BYE not sent", "err", err)
		return
	}
	ss.s.background(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, byeTimeout)
		defer cancel()
		if _, err := ss.s.Do(ctx, req); err != nil {
			ss.log.Debug("BYE failed", "err", err)
			return
		}
		ss.log.Debug("sent BYE")
	})
}

// requestKeyframe asks the channel for an I-frame (DeviceControl IFameCmd),
// at most once per KeyframeInterval; it never blocks the stream.
func (ss *playSession) requestKeyframe() {
	ss.kfMu.Lock()
	now := time.Now()
	if now.Sub(ss.kfLast) < ss.s.cfg.KeyframeInterval || ss.ctx == nil || !ss.kfBusy.CompareAndSwap(false, true) {
		ss.kfMu.Unlock()
		return
	}
	ss.kfLast = now
	ss.kfWG.Add(1)
	ctx := ss.ctx
	ss.kfMu.Unlock()
	go func() {
		defer ss.kfWG.Done()
		defer ss.kfBusy.Store(false)
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if err := ss.s.KeyframeRequest(ctx, ss.channel); err != nil {
			ss.log.Debug("keyframe request failed", "err", err)
		}
	}()
}
