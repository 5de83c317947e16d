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
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/media"
)

// IngestOptions say where a received publication goes.
type IngestOptions struct {
	// Stream receives the audio track and the video (the TopRID layer when
	// the offer is simulcast). Required. The ingest closes it when it ends.
	Stream *media.Stream
	// Layers receive the other simulcast layers (video only), by rid. The
	// ingest closes them when it ends. Layers neither here nor TopRID are
	// dropped.
	Layers map[string]*media.Stream
	// TopRID is the simulcast layer written to Stream.
	TopRID string
	// OnAudioLevel receives the RFC 6464 level of every audio packet that
	// carries one: 0 is the loudest (0 dBov), 127 silence. It runs on the
	// track's read goroutine and must not block.
	OnAudioLevel func(level uint8)
	// LiveTimeout is how long a stream waits for all its tracks and a
	// first video keyframe before going live with what it has (default 5 s).
	LiveTimeout time.Duration
}

// IngestStats are an ingest's counters.
type IngestStats struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	Units   uint64 `json:"units"`
	Errors  uint64 `json:"errors"` // packets the depacketizer refused
}

// Ingest receives one publisher's media (WHIP, RFC 9725; a room
// participant's camera) on a recvonly PeerConnection and writes it,
// depacketized, into media streams.
type Ingest struct {
	id    string
	eng   *Engine
	pc    *pwebrtc.PeerConnection
	log   *slog.Logger
	opts  IngestOptions
	start time.Time
	main  *ingestSink
	layer map[string]*ingestSink

	ctx       context.Context
	cancel    context.CancelFunc
	connected chan struct{}
	connOnce  sync.Once
	done      chan struct{}
	wg        sync.WaitGroup

	mutedAudio, mutedVideo atomic.Bool
	videoSSRC              atomic.Uint32 // the main stream's video SSRC
	packets, bytes, units  atomic.Uint64
	errs                   atomic.Uint64

	closeMu sync.Mutex
	closing bool
	hooks   closeHooks // OnClose callbacks
}

// NewWHIPSession answers a WHIP offer (RFC 9725: no trickle needed, the
// answer carries every candidate; an OBS 30+ offer with bundle, rtcp-mux,
// H.264 packetization-mode=1 and Opus works as is) and writes what the
// publisher sends into opts.Stream (and opts.Layers). ctx bounds the
// session's life; it also ends on Close or when ICE fails. On error the
// streams are closed.
func (e *Engine) NewWHIPSession(ctx context.Context, offerSDP string, opts IngestOptions) (*Ingest, string, error) {
	in, answer, err := e.newIngest(ctx, offerSDP, opts)
	if err != nil {
		if opts.Stream != nil {
			opts.Stream.Close()
		}
		for _, s := range opts.Layers {
			s.Close()
		}
		return nil, "", err
	}
	return in, answer, nil
}

func (e *Engine) newIngest(ctx context.Context, offerSDP string, opts IngestOptions) (*Ingest, string, error) {
	if opts.Stream == nil {
		return nil, "", errors.New("webrtc: ingest without a stream")
	}
	po, err := ParsePublishOffer(offerSDP)
	if err != nil {
		return nil, "", err
	}
	if opts.LiveTimeout <= 0 {
		opts.LiveTimeout = 5 * time.Second
	}
	in := &Ingest{
		id: newID(), eng: e, opts: opts, start: time.Now(),
		connected: make(chan struct{}), done: make(chan struct{}),
		main:  newIngestSink(opts.Stream, po.Video, po.Audio),
		layer: map[string]*ingestSink{},
	}
	for rid, s := range opts.Layers {
		in.layer[rid] = newIngestSink(s, true, false)
	}
	in.log = e.log.With("whip", in.id, "stream", string(opts.Stream.ID()))
	if in.pc, err = e.newIngestPC(); err != nil {
		return nil, "", err
	}
	in.ctx, in.cancel = context.WithCancel(ctx)
	in.pc.OnConnectionStateChange(in.onState)
	in.pc.OnTrack(in.onTrack)
	answer, err := in.negotiate(ctx, offerSDP)
	if err == nil {
		err = e.peers.add(in)
	}
	if err != nil {
		in.cancel()
		_ = in.pc.Close()
		return nil, "", err
	}
	go in.run()
	in.log.Info("whip session started", "video", po.Video, "audio", po.Audio, "rids", po.RIDs)
	return in, answer, nil
}

// newIngestPC builds a receive PeerConnection: our codecs, the audio-level
// and simulcast header extensions, NACK generation, receiver reports and
// TWCC feedback (so a browser's send-side estimate can ramp up).
func (e *Engine) newIngestPC() (*pwebrtc.PeerConnection, error) {
	m, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	if err := m.RegisterHeaderExtension(pwebrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, pwebrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("webrtc: audio level extension: %w", err)
	}
	ir := &interceptor.Registry{}
	for _, f := range []func() error{
		func() error { return pwebrtc.ConfigureNack(m, ir) },
		func() error { return pwebrtc.ConfigureRTCPReports(ir) },
		func() error { return pwebrtc.ConfigureSimulcastExtensionHeaders(m) },
		func() error { return pwebrtc.ConfigureTWCCSender(m, ir) },
	} {
		if err := f(); err != nil {
			return nil, fmt.Errorf("webrtc: ingest interceptors: %w", err)
		}
	}
	pc, err := e.newAPI(m, ir).NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	return pc, nil
}

func (in *Ingest) negotiate(ctx context.Context, offerSDP string) (string, error) {
	err := in.pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeOffer, SDP: offerSDP})
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	answer, err := in.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: answer: %v", ErrBadOffer, err)
	}
	if !strings.Contains(answer.SDP, "a=recvonly") && !strings.Contains(answer.SDP, "a=sendrecv") {
		return "", fmt.Errorf("%w: no offered codec is one we take (H.264, H.265, Opus, G.711)", ErrNoTracks)
	}
	gathered := pwebrtc.GatheringCompletePromise(in.pc)
	if err := in.pc.SetLocalDescription(answer); err != nil {
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
	return in.pc.LocalDescription().SDP, nil
}

func (in *Ingest) onState(st pwebrtc.PeerConnectionState) {
	switch st {
	case pwebrtc.PeerConnectionStateConnected:
		in.connOnce.Do(func() { close(in.connected) })
	case pwebrtc.PeerConnectionStateFailed, pwebrtc.PeerConnectionStateClosed:
		in.cancel()
	default:
	}
}

// onTrack starts a read loop per received track (one per simulcast layer).
func (in *Ingest) onTrack(tr *pwebrtc.TrackRemote, rcv *pwebrtc.RTPReceiver) {
	in.closeMu.Lock()
	if in.closing {
		in.closeMu.Unlock()
		return
	}
	in.wg.Add(2)
	in.closeMu.Unlock()
	go in.drainReceiver(rcv, tr.RID())
	go in.readTrack(tr, rcv)
}

// drainReceiver reads the receiver's RTCP (sender reports) so the
// interceptors see it.
func (in *Ingest) drainReceiver(rcv *pwebrtc.RTPReceiver, rid string) {
	defer in.wg.Done()
	buf := make([]byte, 1500)
	for {
		var err error
		if rid != "" {
			_, _, err = rcv.ReadSimulcast(buf, rid)
		} else {
			_, _, err = rcv.Read(buf)
		}
		if err != nil {
			return
		}
	}
}

func (in *Ingest) sinkFor(tr *pwebrtc.TrackRemote) (*ingestSink, bool) {
	if tr.Kind() == pwebrtc.RTPCodecTypeAudio {
		return in.main, true
	}
	rid := tr.RID()
	if rid == "" || rid == in.opts.TopRID {
		return in.main, true
	}
	s, ok := in.layer[rid]
	return s, ok
}

func (in *Ingest) readTrack(tr *pwebrtc.TrackRemote, rcv *pwebrtc.RTPReceiver) {
	defer in.wg.Done()
	kind := tr.Kind()
	sink, ok := in.sinkFor(tr)
	mt, err := mediaTrack(tr.Codec())
	var dep *media.Depacketizer
	if err == nil {
		dep, err = media.NewDepacketizer(mt)
	}
	if !ok || err != nil {
		in.log.Info("whip track dropped", "kind", kind, "rid", tr.RID(), "codec", tr.Codec().MimeType, "err", err)
		drainTrack(tr)
		return
	}
	ssrc := uint32(tr.SSRC())
	sink.setTrack(kind, mt)
	if kind == pwebrtc.RTPCodecTypeVideo {
		if sink == in.main {
			in.videoSSRC.Store(ssrc)
		}
		sink.s.OnKeyframeRequest(func() { in.pli(ssrc) })
		in.pli(ssrc)
	}
	levelID := extensionID(rcv, sdp.AudioLevelURI)
	offset := int64(time.Since(in.start).Seconds() * float64(mt.ClockRate))
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		in.packets.Add(1)
		in.bytes.Add(uint64(len(p.Payload)))
		if levelID != 0 && in.opts.OnAudioLevel != nil && !in.mutedAudio.Load() {
			if b := p.GetExtension(levelID); b != nil {
				var lvl rtp.AudioLevelExtension
				if lvl.Unmarshal(b) == nil {
					in.opts.OnAudioLevel(lvl.Level)
				}
			}
		}
		if len(p.Payload) == 0 {
			continue // padding (bandwidth probes)
		}
		units, err := dep.Push(p)
		if err != nil {
			if n := in.errs.Add(1); n <= 3 || n&(n-1) == 0 {
				in.log.Debug("whip depacketize", "kind", kind, "errors", n, "err", err)
			}
			continue
		}
		for _, u := range units {
			if in.muted(kind) {
				continue
			}
			u.PTS += offset
			if sink.write(kind, u) {
				in.units.Add(1)
			}
		}
		if kind == pwebrtc.RTPCodecTypeVideo && !sink.live.Load() && time.Since(in.start) > in.opts.LiveTimeout {
			sink.goLive(true)
		}
	}
}

func drainTrack(tr *pwebrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := tr.Read(buf); err != nil {
			return
		}
	}
}

func extensionID(rcv *pwebrtc.RTPReceiver, uri string) uint8 {
	for _, h := range rcv.GetParameters().HeaderExtensions {
		if h.URI == uri {
			return uint8(h.ID)
		}
	}
	return 0
}

func (in *Ingest) muted(kind pwebrtc.RTPCodecType) bool {
	if kind == pwebrtc.RTPCodecTypeAudio {
		return in.mutedAudio.Load()
	}
	return in.mutedVideo.Load()
}

// pli asks the publisher for a keyframe on ssrc.
func (in *Ingest) pli(ssrc uint32) {
	if err := in.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		in.log.Debug("whip pli", "err", err)
	}
}

// SetMuted stops (or resumes) writing the publisher's audio or video into
// the streams: a server-side mute that the publisher cannot bypass.
// Unmuting video asks for a keyframe.
func (in *Ingest) SetMuted(video, muted bool) {
	if !video {
		in.mutedAudio.Store(muted)
		return
	}
	if in.mutedVideo.Swap(muted) && !muted {
		if ssrc := in.videoSSRC.Load(); ssrc != 0 {
			in.pli(ssrc)
		}
		for _, s := range in.layer {
			s.s.RequestKeyframe()
		}
	}
}

// run waits for ICE, then for the end, and tears down.
func (in *Ingest) run() {
	defer in.teardown()
	t := time.NewTimer(in.eng.cfg.ConnectTimeout)
	defer t.Stop()
	select {
	case <-in.connected:
	case <-t.C:
		in.log.Info("whip session never connected", "timeout", in.eng.cfg.ConnectTimeout)
		return
	case <-in.ctx.Done():
		return
	}
	live := time.NewTimer(in.opts.LiveTimeout)
	defer live.Stop()
	select {
	case <-live.C:
		in.main.goLive(true) // an audio-only or late-keyframe publisher
	case <-in.ctx.Done():
		return
	}
	<-in.ctx.Done()
}

func (in *Ingest) teardown() {
	in.cancel()
	in.closeMu.Lock()
	in.closing = true
	in.closeMu.Unlock()
	if err := in.pc.Close(); err != nil {
		in.log.Debug("whip close peer connection", "err", err)
	}
	in.wg.Wait()
	in.opts.Stream.Close()
	for _, s := range in.opts.Layers {
		s.Close()
	}
	in.eng.peers.remove(in)
	st := in.Stats()
	in.log.Info("whip session ended", "packets", st.Packets, "units", st.Units, "errors", st.Errors,
		"duration", time.Since(in.start).Round(time.Millisecond))
	in.hooks.fire()
	close(in.done)
}

// ID is the session's random id (the WHIP resource name).
func (in *Ingest) ID() string { return in.id }

// Done is closed once the session has ended and closed its streams.
func (in *Ingest) Done() <-chan struct{} { return in.done }

// OnClose registers f to run once the session has ended (at once if it has).
func (in *Ingest) OnClose(f func()) {
	in.hooks.add(f)
}

// Close ends the session and waits until it has released everything. It
// must not be called from an OnClose hook.
func (in *Ingest) Close() {
	in.cancel()
	<-in.done
}

// AddICECandidate adds a trickled remote candidate (room signaling).
func (in *Ingest) AddICECandidate(c pwebrtc.ICECandidateInit) error {
	return in.pc.AddICECandidate(c)
}

// Stats returns the session's counters.
func (in *Ingest) Stats() IngestStats {
	return IngestStats{Packets: in.packets.Load(), Bytes: in.bytes.Load(), Units: in.units.Load(), Errors: in.errs.Load()}
}

// mediaTrack maps a negotiated codec to a hub track.
func mediaTrack(c pwebrtc.RTPCodecParameters) (*media.Track, error) {
	t := &media.Track{ClockRate: int(c.ClockRate), PayloadType: uint8(c.PayloadType)}
	switch strings.ToLower(c.MimeType) {
	case strings.ToLower(pwebrtc.MimeTypeH264):
		t.Codec = media.H264
	case strings.ToLower(pwebrtc.MimeTypeH265):
		t.Codec = media.H265
	case strings.ToLower(pwebrtc.MimeTypeOpus):
		t.Codec, t.Channels = media.Opus, 2
	case strings.ToLower(pwebrtc.MimeTypePCMA):
		t.Codec = media.PCMA
	case strings.ToLower(pwebrtc.MimeTypePCMU):
		t.Codec = media.PCMU
	default:
		return nil, fmt.Errorf("%w: %s", media.ErrUnsupportedCodec, c.MimeType)
	}
	return t, nil
}
