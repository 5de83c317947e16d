package webrtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtcp"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/media"
)

// Reader is what a session needs from a *media.Reader.
type Reader interface {
	Tracks() []*media.Track
	Next(ctx context.Context) (*media.Unit, error)
	RequestKeyframe()
	Close()
}

// Stats are a session's counters.
type Stats struct {
	PacketsSent uint64 `json:"packets_sent"`
	BytesSent   uint64 `json:"bytes_sent"`
	// NACKed counts packets the browser asked for again; Resent those we
	// had in the history and sent.
	NACKed uint64 `json:"nacked"`
	Resent uint64 `json:"resent"`
	PLIs   uint64 `json:"plis"`
	FIRs   uint64 `json:"firs"`
	// KeyframeRequests counts the requests forwarded to the reader (PLI/FIR
	// after rate limiting).
	KeyframeRequests uint64 `json:"keyframe_requests"`
	// FirstKeyframe is the time from the offer to the first keyframe packet
	// written (0 until then).
	FirstKeyframe time.Duration `json:"first_keyframe_ns"`
	// Connected is the time from the offer to ICE+DTLS up (0 until then).
	Connected time.Duration `json:"connected_ns"`
}

// Session is one WHEP viewer: a PeerConnection fed by one media reader.
type Session struct {
	id      string
	eng     *Engine
	pc      *pwebrtc.PeerConnection
	r       Reader
	log     *slog.Logger
	tracks  []*outTrack // by media track index; nil = not sent
	skipped []string
	created time.Time

	ctx       context.Context
	cancel    context.CancelFunc
	connected chan struct{}
	connOnce  sync.Once
	done      chan struct{}
	wg        sync.WaitGroup

	nack       nackCounters
	plis, firs atomic.Uint64
	kfRequests atomic.Uint64
	lastKF     atomic.Int64
	firstKF    atomic.Int64
	connAt     atomic.Int64
	hooks      closeHooks // OnClose callbacks
	batch      pairBatch  // unit batching to the browser's address
	clock      *sendClock // the sender reports' clock, read once per unit
}

// NewWHEPSession answers a WHEP offer (RFC 9725 style, without trickle: the
// answer carries every candidate) and starts forwarding r to the browser
// once ICE connects. The session owns r: it closes r when it ends, and on
// error. ctx bounds the session's whole life (pass a server context, not a
// request context); it also ends on Close, ICE failure, or when r ends.
func (e *Engine) NewWHEPSession(ctx context.Context, offerSDP string, r Reader) (*Session, string, error) {
	s, answer, err := e.newSession(ctx, offerSDP, r)
	if err != nil {
		r.Close()
		return nil, "", err
	}
	return s, answer, nil
}

func (e *Engine) newSession(ctx context.Context, offerSDP string, r Reader) (*Session, string, error) {
	off, err := parseOffer(offerSDP)
	if err != nil {
		return nil, "", err
	}
	s := &Session{
		id: newID(), eng: e, r: r, created: time.Now(),
		connected: make(chan struct{}), done: make(chan struct{}), clock: newSendClock(),
	}
	s.log = e.log.With("whep", s.id)
	if err := s.planTracks(off); err != nil {
		return nil, "", err
	}
	if s.pc, err = e.newPeerConnection(&s.nack, &s.batch, s.clock); err != nil {
		return nil, "", err
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.pc.OnConnectionStateChange(s.onState)
	s.batch.reg = e.sends
	s.batch.watch(s.pc)
	answer, err := s.negotiate(ctx, offerSDP)
	if err == nil {
		err = e.add(s)
	}
	if err != nil {
		s.cancel()
		_ = s.pc.Close()
		return nil, "", err
	}
	for _, tr := range s.pc.GetTransceivers() {
		if snd := tr.Sender(); snd != nil {
			s.wg.Add(1)
			go s.drainRTCP(snd)
		}
	}
	go s.run()
	s.log.Info("whep session started", "tracks", len(s.pc.GetSenders()), "skipped", s.skipped)
	return s, answer, nil
}

// planTracks decides which hub tracks go out, one per offered m= section of
// their kind.
func (s *Session) planTracks(off offer) error {
	used := map[pwebrtc.RTPCodecType]int{}
	tracks := s.r.Tracks()
	s.tracks = make([]*outTrack, len(tracks))
	for i, t := range tracks {
		kind := pwebrtc.RTPCodecTypeAudio
		if t.Codec.IsVideo() {
			kind = pwebrtc.RTPCodecTypeVideo
		}
		c, err := capability(t)
		if err == nil {
			err = off.accepts(kind, c)
		}
		if err == nil && used[kind] >= off.sections[kind] {
			err = fmt.Errorf("no %s section left in the offer", kind)
		}
		if err != nil {
			s.skipped = append(s.skipped, fmt.Sprintf("track %d (%s): %v", i, t.Codec, err))
			continue
		}
		used[kind]++
		s.tracks[i] = newOutTrack(kind, c, "pingan", i)
		s.tracks[i].latency = s.eng.cfg.WriteLatency
	}
	if len(used) == 0 {
		return fmt.Errorf("%w: %s", ErrNoTracks, strings.Join(s.skipped, "; "))
	}
	return nil
}

// newPeerConnection builds a PeerConnection with its own MediaEngine,
// interceptors and API, sharing the engine's ICE sockets. The sender
// reports are the outer interceptor (added last) so they see first
// transmissions only: a retransmission's old timestamp paired with the time
// it was resent would skew the RTP-to-NTP mapping of the next report.
func (e *Engine) newPeerConnection(nc *nackCounters, batch *pairBatch, clock *sendClock) (*pwebrtc.PeerConnection, error) {
	m, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	ir.Add(nackFactory{counters: nc, batch: batch})
	sr, err := report.NewSenderInterceptor(report.SenderNow(clock.now))
	if err != nil {
		return nil, fmt.Errorf("webrtc: sender reports: %w", err)
	}
	ir.Add(sr)
	api := pwebrtc.NewAPI(pwebrtc.WithSettingEngine(e.se), pwebrtc.WithMediaEngine(m), pwebrtc.WithInterceptorRegistry(ir))
	pc, err := api.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	return pc, nil
}

// negotiate applies the offer, adds the tracks and returns the answer with
// all candidates gathered.
func (s *Session) negotiate(ctx context.Context, offerSDP string) (string, error) {
	err := s.pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeOffer, SDP: offerSDP})
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	for _, t := range s.tracks {
		if t == nil {
			continue
		}
		if _, err := s.pc.AddTrack(t); err != nil {
			return "", fmt.Errorf("%w: add %s track: %v", ErrBadOffer, t.kind, err)
		}
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: answer: %v", ErrBadOffer, err)
	}
	gathered := pwebrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("%w: set answer: %v", ErrBadOffer, err)
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
		return "", errors.New("webrtc: ice gathering timed out")
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if err := s.checkBound(); err != nil {
		return "", err
	}
	return s.pc.LocalDescription().SDP, nil
}

// checkBound reports a track whose transceiver was rejected in the answer.
func (s *Session) checkBound() error {
	for _, tr := range s.pc.GetTransceivers() {
		if tr.Sender() != nil && tr.Mid() == "" {
			return fmt.Errorf("%w: a %s track matched no offered section", ErrNoTracks, tr.Kind())
		}
	}
	return nil
}

func (s *Session) onState(st pwebrtc.PeerConnectionState) {
	switch st {
	case pwebrtc.PeerConnectionStateConnected:
		s.connOnce.Do(func() { close(s.connected) })
	case pwebrtc.PeerConnectionStateFailed:
		s.log.Info("whep session failed: ice/dtls connection lost")
		s.cancel()
	case pwebrtc.PeerConnectionStateClosed:
		s.cancel()
	default:
	}
}

// writeUnit sends one unit, as one batch when it has several packets.
func (s *Session) writeUnit(t *outTrack, u *media.Unit) (bool, error) {
	now := s.clock.begin()
	defer s.clock.end()
	q := s.batch.begin(len(u.Packets))
	defer q.finish()
	return t.writeUnit(u, now)
}

// run waits for ICE, forwards units until the session ends, then tears down.
func (s *Session) run() {
	defer s.teardown()
	t := time.NewTimer(s.eng.cfg.ConnectTimeout)
	defer t.Stop()
	select {
	case <-s.connected:
		s.connAt.Store(int64(max(time.Since(s.created), 1)))
	case <-t.C:
		s.log.Info("whep session never connected", "timeout", s.eng.cfg.ConnectTimeout)
		return
	case <-s.ctx.Done():
		return
	}
	for {
		u, err := s.r.Next(s.ctx)
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Info("whep reader ended", "err", err)
			}
			return
		}
		if u.Track < 0 || u.Track >= len(s.tracks) || s.tracks[u.Track] == nil {
			continue
		}
		kf, err := s.writeUnit(s.tracks[u.Track], u)
		if err != nil {
			if !errors.Is(err, errTrackClosed) {
				s.log.Info("whep write failed", "err", err)
			}
			return
		}
		if kf && s.firstKF.Load() == 0 {
			s.firstKF.Store(int64(max(time.Since(s.created), 1)))
		}
	}
}

func (s *Session) teardown() {
	s.cancel()
	if err := s.pc.Close(); err != nil {
		s.log.Debug("whep close peer connection", "err", err)
	}
	s.r.Close()
	s.wg.Wait()
	s.batch.close()
	s.eng.remove(s)
	st := s.Stats()
	s.log.Info("whep session ended", "packets", st.PacketsSent, "bytes", st.BytesSent,
		"nacked", st.NACKed, "plis", st.PLIs, "duration", time.Since(s.created).Round(time.Millisecond))
	s.hooks.fire()
	close(s.done)
	s.eng.wg.Done()
}

// drainRTCP reads a sender's RTCP so the interceptors (NACK, reports) run,
// and turns PLI/FIR into rate-limited keyframe requests.
func (s *Session) drainRTCP(snd *pwebrtc.RTPSender) {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, attr, err := snd.Read(buf)
		if err != nil {
			return
		}
		if attr == nil {
			attr = interceptor.Attributes{}
		}
		pkts, err := attr.GetRTCPPackets(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication:
				s.plis.Add(1)
				s.requestKeyframe()
			case *rtcp.FullIntraRequest:
				s.firs.Add(1)
				s.requestKeyframe()
			}
		}
	}
}

func (s *Session) requestKeyframe() {
	now := time.Now().UnixNano()
	last := s.lastKF.Load()
	if now-last < int64(s.eng.cfg.KeyframeInterval) || !s.lastKF.CompareAndSwap(last, now) {
		return
	}
	s.kfRequests.Add(1)
	s.r.RequestKeyframe()
}

// ID is the session's random id (the WHEP resource name).
func (s *Session) ID() string { return s.id }

// Skipped says why tracks of the stream are not sent (codec not offered…).
func (s *Session) Skipped() []string { return s.skipped }

// Done is closed once the session has ended and released everything.
func (s *Session) Done() <-chan struct{} { return s.done }

// OnClose registers f to run once the session has ended (at once if it has).
func (s *Session) OnClose(f func()) {
	s.hooks.add(f)
}

// Close ends the session and waits until it has released everything. It
// must not be called from an OnClose hook.
func (s *Session) Close() {
	s.cancel()
	<-s.done
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	st := Stats{
		NACKed:           s.nack.requested.Load(),
		Resent:           s.nack.resent.Load(),
		PLIs:             s.plis.Load(),
		FIRs:             s.firs.Load(),
		KeyframeRequests: s.kfRequests.Load(),
		FirstKeyframe:    time.Duration(s.firstKF.Load()),
		Connected:        time.Duration(s.connAt.Load()),
	}
	for _, t := range s.tracks {
		if t != nil {
			st.PacketsSent += t.packets.Load()
			st.BytesSent += t.bytes.Load()
		}
	}
	return st
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
