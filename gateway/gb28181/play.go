package gb28181

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ghettovoice/gosip/sip"

	"pingan/gateway/gb28181/rtpin"
	"pingan/media"
)

// StreamPrefix is the media stream id prefix of GB28181 channels ("gb/{channel}").
const StreamPrefix = "gb/"

// Errors that end a play session; the media hub restarts the source (a
// new INVITE, with backoff) while readers remain.
var (
	// ErrDeviceBye: the device ended the session with BYE.
	ErrDeviceBye = errors.New("gb28181: device ended the session (BYE)")
	// ErrDeviceOffline: the channel's device went offline during the session.
	ErrDeviceOffline = errors.New("gb28181: device went offline during the session")
)

// player is the live-play state of a Server: the media port range, the
// SSRC sequences and the sessions in progress by Call-ID (for device BYEs).
type player struct {
	ports *rtpin.Ports
	ssrc  ssrcPool

	mu     sync.Mutex
	byCall map[string]*playSession
}

// initPlay prepares live play; New calls it before Run (handlers must be
// installed before the SIP server starts).
func (s *Server) initPlay() error {
	ports, err := rtpin.ParsePorts(s.cfg.RTPPorts)
	if err != nil {
		return fmt.Errorf("media.rtp_ports: %w", err)
	}
	s.play = &player{ports: ports, byCall: make(map[string]*playSession)}
	s.handleSIP(sip.BYE, s.onBye)
	return nil
}

func (p *player) add(ss *playSession) {
	p.mu.Lock()
	p.byCall[ss.dlg.CallID] = ss
	p.mu.Unlock()
}

func (p *player) remove(ss *playSession) {
	p.mu.Lock()
	if p.byCall[ss.dlg.CallID] == ss {
		delete(p.byCall, ss.dlg.CallID)
	}
	p.mu.Unlock()
}

func (p *player) byCallID(id string) *playSession {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byCall[id]
}

// PlaySessions counts the live-play dialogs in progress.
func (s *Server) PlaySessions() int {
	s.play.mu.Lock()
	defer s.play.mu.Unlock()
	return len(s.play.byCall)
}

// onBye handles a BYE from a device: the stream it sends has ended
// (GB/T 28181-2016 §9.2.2; RFC 3261 §15.1.2).
func (s *Server) onBye(req sip.Request, tx sip.ServerTransaction) {
	cid, ok := req.CallID()
	var ss *playSession
	if ok {
		ss = s.play.byCallID(cid.Value())
	}
	if ss == nil {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	s.reply(tx, req, 200, "OK")
	ss.remoteBye()
}

// SourceFactory returns the media source factory for StreamPrefix: a
// reader of "gb/{channel}" makes the hub INVITE the channel's device, and
// one dialog feeds every reader (the media hub keeps one source per stream).
// Register it with media.Hub.RegisterSource(gb28181.StreamPrefix, …).
func (s *Server) SourceFactory() media.SourceFactory {
	return func(id media.StreamID) (media.Source, error) {
		rest, ok := strings.CutPrefix(string(id), StreamPrefix)
		if !ok {
			return nil, media.ErrNotFound
		}
		ch, err := ParseDeviceID(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", media.ErrNotFound, err)
		}
		return &playSource{s: s, channel: ch}, nil
	}
}

// playSource is the media.Source of one channel.
type playSource struct {
	s       *Server
	channel DeviceID
}

// Start INVITEs the channel and writes its media to st until ctx ends
// (idle: BYE, nil) or the session fails (device BYE, media timeout,
// device offline: an error, so the hub re-INVITEs with backoff).
func (p *playSource) Start(ctx context.Context, st *media.Stream) error {
	ch, dev, err := p.lookup(ctx)
	if err != nil {
		return err
	}
	mode := rtpin.Mode(dev.Transport)
	if mode == "" {
		mode = rtpin.Mode(p.s.DefaultTransport())
	}
	w := newUnitWriter(st, p.s.log.With("stream", string(st.ID())))
	ss, err := p.s.openSession(ctx, ch, dev, mode, w)
	if errors.Is(err, errNoAnswerSDP) {
		// TCP active needs the device's address from its answer: without
		// one, ask again with the device dialling us (TCP passive).
		p.s.log.Warn("device answered TCP active without SDP; playing over TCP passive instead", "device", dev.ID, "channel", ch)
		ss, err = p.s.openSession(ctx, ch, dev, rtpin.ModeTCPPassive, w)
	}
	if err != nil {
		return err
	}
	st.OnKeyframeRequest(ss.requestKeyframe)
	defer st.OnKeyframeRequest(nil)
	return ss.run(ctx)
}

// lookup finds the channel (or an IPC played by its own id) and waits a
// little for an offline owner to come back.
func (p *playSource) lookup(ctx context.Context) (DeviceID, Device, error) {
	s := p.s
	target := p.channel
	_, dev, err := s.Channel(ctx, p.channel)
	if errors.Is(err, ErrChannelNotFound) {
		dev, err = s.Device(ctx, p.channel) // an IPC invited by its own id
	}
	if errors.Is(err, ErrChannelNotFound) || errors.Is(err, ErrDeviceNotFound) {
		return "", Device{}, fmt.Errorf("%w: %w", media.ErrNotFound, err)
	}
	if err != nil {
		return "", Device{}, err
	}
	if dev.Online {
		return target, dev, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OfflineWait)
	defer cancel()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", Device{}, fmt.Errorf("play %s: %w: %s", p.channel, ErrOffline, dev.ID)
		case <-t.C:
		}
		if d, err := s.Device(ctx, dev.ID); err == nil && d.Online {
			return target, d, nil
		}
	}
}
