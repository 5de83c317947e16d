package webrtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/report"
	pwebrtc "github.com/pion/webrtc/v4"
)

// SubscriberOptions configure a room subscriber.
type SubscriberOptions struct {
	// OnOffer sends a server offer to the client, which answers with
	// SetAnswer. Called from the subscriber's negotiation goroutine, one
	// offer at a time; it must not block for long.
	OnOffer func(sdp string)
	// DisableBWE turns off the send-side bandwidth estimate (GCC over
	// TWCC feedback); Estimate then reports 0 (unknown).
	DisableBWE bool
	// InitialBitrate seeds the estimate (default 1 Mbit/s).
	InitialBitrate int
	// AnswerTimeout ends the subscriber when an offer stays unanswered
	// (default 20 s).
	AnswerTimeout time.Duration
}

// SubscriberStats are a subscriber's counters.
type SubscriberStats struct {
	PacketsSent uint64 `json:"packets_sent"`
	BytesSent   uint64 `json:"bytes_sent"`
	NACKed      uint64 `json:"nacked"`
	Resent      uint64 `json:"resent"`
	PLIs        uint64 `json:"plis"`
	Offers      uint64 `json:"offers"`
	Forwards    int    `json:"forwards"`
	Estimate    int64  `json:"estimate_bps"`
}

// Subscriber is one room participant's receiving PeerConnection: the
// server adds and removes forwarded publications and renegotiates with
// server offers (the LiveKit-style single subscriber PC), so a meeting
// member with 19 peers holds one PeerConnection, not 19.
type Subscriber struct {
	id   string
	eng  *Engine
	pc   *pwebrtc.PeerConnection
	log  *slog.Logger
	opts SubscriberOptions

	bwe      atomic.Pointer[cc.BandwidthEstimator]
	override atomic.Int64
	twcc     atomic.Bool // the client answered with transport-cc

	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	wg       sync.WaitGroup
	negReq   chan struct{} // one slot: renegotiation needed
	answerCh chan string

	nack          nackCounters
	plis, offers  atomic.Uint64
	packets, size atomic.Uint64

	mu       sync.Mutex
	forwards map[*Forward]struct{}
	closing  bool
	hooks    closeHooks // OnClose callbacks
	batch    pairBatch  // unit batching to the client's address (sendbatch.go)
	clock    *sendClock // the sender reports' clock, read once per unit (clock.go)
}

// NewSubscriber builds a subscriber PeerConnection. Nothing is offered
// until the first Forward.
func (e *Engine) NewSubscriber(ctx context.Context, opts SubscriberOptions) (*Subscriber, error) {
	if opts.InitialBitrate <= 0 {
		opts.InitialBitrate = 1_000_000
	}
	if opts.AnswerTimeout <= 0 {
		opts.AnswerTimeout = 20 * time.Second
	}
	s := &Subscriber{
		id: newID(), eng: e, opts: opts, done: make(chan struct{}),
		negReq: make(chan struct{}, 1), answerCh: make(chan string, 1),
		forwards: map[*Forward]struct{}{}, clock: newSendClock(),
	}
	s.log = e.log.With("subscriber", s.id)
	pc, err := e.newSubscriberPC(s)
	if err != nil {
		return nil, err
	}
	s.pc = pc
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.batch.reg = e.sends
	s.batch.watch(pc)
	pc.OnConnectionStateChange(func(st pwebrtc.PeerConnectionState) {
		if st == pwebrtc.PeerConnectionStateFailed || st == pwebrtc.PeerConnectionStateClosed {
			s.cancel()
		}
	})
	if err := e.peers.add(s); err != nil {
		s.cancel()
		_ = pc.Close()
		return nil, err
	}
	go s.run()
	return s, nil
}

// newSubscriberPC: our send codecs, sender reports, our NACK responder,
// and GCC (cc interceptor, then the TWCC header extension so it is the
// outermost writer and stamps every packet the estimator sees).
func (e *Engine) newSubscriberPC(s *Subscriber) (*pwebrtc.PeerConnection, error) {
	m, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	sr, err := report.NewSenderInterceptor(report.SenderNow(s.clock.now))
	if err != nil {
		return nil, fmt.Errorf("webrtc: sender reports: %w", err)
	}
	ir.Add(sr)
	ir.Add(nackFactory{counters: &s.nack, batch: &s.batch})
	if !s.opts.DisableBWE {
		f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
			return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(s.opts.InitialBitrate),
				gcc.SendSideBWEPacer(gcc.NewNoOpPacer()), gcc.WithLoggerFactory(slogFactory{log: e.log}))
		})
		if err != nil {
			return nil, fmt.Errorf("webrtc: congestion control: %w", err)
		}
		f.OnNewPeerConnection(func(_ string, est cc.BandwidthEstimator) { s.bwe.Store(&est) })
		ir.Add(f)
		if err := pwebrtc.ConfigureTWCCHeaderExtensionSender(m, ir); err != nil {
			return nil, fmt.Errorf("webrtc: twcc: %w", err)
		}
	}
	pc, err := e.newAPI(m, ir).NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	return pc, nil
}

// run negotiates whenever tracks change, one offer at a time, until the
// subscriber ends; then it tears down.
func (s *Subscriber) run() {
	defer s.teardown()
	for {
		select {
		case <-s.negReq:
		case <-s.ctx.Done():
			return
		}
		// Let a burst of changes (joining a meeting of 19) settle into one offer.
		select {
		case <-time.After(20 * time.Millisecond):
		case <-s.ctx.Done():
			return
		}
		select {
		case <-s.negReq:
		default:
		}
		if err := s.negotiate(); err != nil {
			if s.ctx.Err() == nil {
				s.log.Info("subscriber negotiation failed", "err", err)
			}
			return
		}
	}
}

func (s *Subscriber) negotiate() error {
	if len(s.pc.GetTransceivers()) == 0 {
		return nil
	}
	offer, err := s.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	gathered := pwebrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		return errors.New("ice gathering timed out")
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	select {
	case <-s.answerCh: // a stale answer
	default:
	}
	s.offers.Add(1)
	s.opts.OnOffer(s.pc.LocalDescription().SDP)
	t := time.NewTimer(s.opts.AnswerTimeout)
	defer t.Stop()
	select {
	case ans := <-s.answerCh:
		if err := s.pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: ans}); err != nil {
			return fmt.Errorf("%w: answer: %v", ErrBadOffer, err)
		}
		s.twcc.Store(strings.Contains(ans, "transport-wide-cc"))
		return nil
	case <-t.C:
		return errors.New("the client did not answer the offer")
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

// SetAnswer applies the client's answer to the outstanding offer.
func (s *Subscriber) SetAnswer(sdp string) error {
	if strings.TrimSpace(sdp) == "" {
		return fmt.Errorf("%w: empty answer", ErrBadOffer)
	}
	select {
	case s.answerCh <- sdp:
		return nil
	case <-s.ctx.Done():
		return ErrClosed
	default:
		return errors.New("webrtc: no offer is waiting for an answer")
	}
}

// AddICECandidate adds a trickled client candidate.
func (s *Subscriber) AddICECandidate(c pwebrtc.ICECandidateInit) error {
	return s.pc.AddICECandidate(c)
}

func (s *Subscriber) renegotiate() {
	select {
	case s.negReq <- struct{}{}:
	default:
	}
}

// Estimate is the send-side bandwidth estimate in bit/s (an override set
// with SetEstimate wins); 0 means unknown (no TWCC feedback negotiated).
func (s *Subscriber) Estimate() int64 {
	if v := s.override.Load(); v > 0 {
		return v
	}
	b := s.bwe.Load()
	if b == nil || !s.twcc.Load() {
		return 0
	}
	return int64((*b).GetTargetBitrate())
}

// SetEstimate overrides the bandwidth estimate (tests, operator caps);
// 0 returns to the measured one.
func (s *Subscriber) SetEstimate(bps int64) { s.override.Store(bps) }

// ID is the subscriber's random id.
func (s *Subscriber) ID() string { return s.id }

// Done is closed once the subscriber has ended.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// OnClose registers f to run once the subscriber has ended.
func (s *Subscriber) OnClose(f func()) {
	s.hooks.add(f)
}

// Close ends the subscriber and every forward; it waits for them.
func (s *Subscriber) Close() {
	s.cancel()
	<-s.done
}

func (s *Subscriber) teardown() {
	s.cancel()
	s.mu.Lock()
	s.closing = true
	fs := make([]*Forward, 0, len(s.forwards))
	for f := range s.forwards {
		fs = append(fs, f)
	}
	s.mu.Unlock()
	for _, f := range fs {
		f.Close()
	}
	if err := s.pc.Close(); err != nil {
		s.log.Debug("subscriber close peer connection", "err", err)
	}
	s.batch.close()
	s.wg.Wait()
	s.eng.peers.remove(s)
	s.hooks.fire()
	close(s.done)
}

// Stats returns the subscriber's counters.
func (s *Subscriber) Stats() SubscriberStats {
	s.mu.Lock()
	n := len(s.forwards)
	s.mu.Unlock()
	return SubscriberStats{
		PacketsSent: s.packets.Load(), BytesSent: s.size.Load(),
		NACKed: s.nack.requested.Load(), Resent: s.nack.resent.Load(),
		PLIs: s.plis.Load(), Offers: s.offers.Load(), Forwards: n, Estimate: s.Estimate(),
	}
}
