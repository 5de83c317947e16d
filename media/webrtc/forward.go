package webrtc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/media"
)

// Source is a publication a subscriber receives: Main carries the audio
// and the top video layer; Layers are lower simulcast video layers,
// lowest first (empty without simulcast).
type Source struct {
	Main   media.StreamID
	Layers []media.StreamID
	// Label is the msid stream id the client sees (letters, digits, '-',
	// '_', '.'); it must be unique on the subscriber.
	Label string
}

// SubscribeFunc opens a reader of a stream (normally media.Hub.Subscribe).
type SubscribeFunc func(ctx context.Context, id media.StreamID) (Reader, error)

// ForwardOptions tune one forward.
type ForwardOptions struct {
	Subscribe SubscribeFunc
	// Layer is the first video layer: 0 … len(Layers); len(Layers) is Main
	// (the default, -1, also means Main).
	Layer int
	// KeyframeInterval rate-limits the subscriber's PLIs passed upstream
	// (default the engine's).
	KeyframeInterval time.Duration
}

// feedUnit is a unit read from one layer's reader; u == nil reports that
// the layer's reader could not be opened or ended.
type feedUnit struct {
	layer int
	u     *media.Unit
	err   error
}

// feed is one running layer reader.
type feed struct {
	cancel context.CancelFunc
	since  time.Time
}

// Forward sends one Source to a Subscriber: the main stream's reader feeds
// audio (and video on the top layer), a second reader feeds a lower layer.
// One goroutine owns the tracks' rewrite state and switches layers at
// keyframes (asking the target layer for one first).
type Forward struct {
	sub  *Subscriber
	src  Source
	opts ForwardOptions

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup

	main    Reader
	video   *downTrack
	audio   *downTrack
	vIndex  int // main stream track index of the forwarded video (-1 none)
	aIndex  int
	senders []*pwebrtc.RTPSender

	units   chan feedUnit
	wake    chan struct{}
	target  atomic.Int32
	current atomic.Int32
	readers sync.Map // layer → Reader (for keyframe requests)
	lastKF  atomic.Int64
	closeMu sync.Once
}

// Forward subscribes to src and adds its tracks to the subscriber; the
// client gets them with the next offer. It blocks while the main stream's
// reader opens (the hub's ready timeout).
func (s *Subscriber) Forward(ctx context.Context, src Source, opts ForwardOptions) (*Forward, error) {
	if opts.Subscribe == nil {
		return nil, errors.New("webrtc: forward without a subscribe function")
	}
	if opts.KeyframeInterval <= 0 {
		opts.KeyframeInterval = s.eng.cfg.KeyframeInterval
	}
	top := len(src.Layers)
	if opts.Layer < 0 || opts.Layer > top {
		opts.Layer = top
	}
	main, err := opts.Subscribe(ctx, src.Main)
	if err != nil {
		return nil, err
	}
	f := &Forward{sub: s, src: src, opts: opts, main: main, vIndex: -1, aIndex: -1,
		done: make(chan struct{}), units: make(chan feedUnit, 64), wake: make(chan struct{}, 1)}
	f.ctx, f.cancel = context.WithCancel(s.ctx)
	if err := f.plan(); err != nil {
		main.Close()
		return nil, err
	}
	if err := f.attach(); err != nil {
		f.detach()
		main.Close()
		return nil, err
	}
	f.current.Store(int32(top))
	f.target.Store(int32(opts.Layer))
	f.readers.Store(top, Reader(main))
	go f.run()
	s.renegotiate()
	return f, nil
}

// plan picks the first video and the first audio track browsers can take.
func (f *Forward) plan() error {
	var errs []error
	for i, t := range f.main.Tracks() {
		kind := pwebrtc.RTPCodecTypeAudio
		if t.Codec.IsVideo() {
			kind = pwebrtc.RTPCodecTypeVideo
		}
		if (kind == pwebrtc.RTPCodecTypeVideo && f.video != nil) || (kind == pwebrtc.RTPCodecTypeAudio && f.audio != nil) {
			continue
		}
		dt, err := newDownTrack(kind, t, f.src.Label, f.sub)
		if err != nil {
			errs = append(errs, fmt.Errorf("track %d: %w", i, err))
			continue
		}
		if kind == pwebrtc.RTPCodecTypeVideo {
			f.video, f.vIndex = dt, i
		} else {
			f.audio, f.aIndex = dt, i
		}
	}
	if f.video == nil && f.audio == nil {
		return fmt.Errorf("%w: %v", ErrNoTracks, errors.Join(errs...))
	}
	return nil
}

// attach adds the tracks to the PeerConnection and drains their RTCP.
func (f *Forward) attach() error {
	s := f.sub
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrClosed
	}
	s.forwards[f] = struct{}{}
	s.mu.Unlock()
	for _, t := range []*downTrack{f.video, f.audio} {
		if t == nil {
			continue
		}
		snd, err := s.pc.AddTrack(t)
		if err != nil {
			return fmt.Errorf("webrtc: add %s track: %w", t.kind, err)
		}
		f.senders = append(f.senders, snd)
		f.wg.Add(1)
		go f.drainRTCP(snd)
	}
	return nil
}

// detach removes the tracks from the PeerConnection and the subscriber.
func (f *Forward) detach() {
	s := f.sub
	for _, snd := range f.senders {
		if err := s.pc.RemoveTrack(snd); err != nil {
			_ = snd.Stop() // the PeerConnection is closing
		}
	}
	s.mu.Lock()
	delete(s.forwards, f)
	closing := s.closing
	s.mu.Unlock()
	if !closing && len(f.senders) > 0 {
		s.renegotiate()
	}
}

func (f *Forward) drainRTCP(snd *pwebrtc.RTPSender) {
	defer f.wg.Done()
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
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				f.sub.plis.Add(1)
				f.requestKeyframe(int(f.current.Load()))
			}
		}
	}
}

// requestKeyframe asks layer's stream for a keyframe, rate-limited.
func (f *Forward) requestKeyframe(layer int) {
	now := time.Now().UnixNano()
	last := f.lastKF.Load()
	if now-last < int64(f.opts.KeyframeInterval) || !f.lastKF.CompareAndSwap(last, now) {
		return
	}
	if r, ok := f.readers.Load(layer); ok {
		r.(Reader).RequestKeyframe()
	}
}

// SetLayer asks for video layer i (0 lowest … NumLayers()-1 = Main); the
// switch happens at the layer's next keyframe.
func (f *Forward) SetLayer(i int) {
	top := len(f.src.Layers)
	i = min(max(i, 0), top)
	if int(f.target.Swap(int32(i))) != i {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// Layer is the video layer being forwarded now.
func (f *Forward) Layer() int { return int(f.current.Load()) }

// TargetLayer is the layer asked for with SetLayer.
func (f *Forward) TargetLayer() int { return int(f.target.Load()) }

// NumLayers is how many video layers the source has (1 without simulcast).
func (f *Forward) NumLayers() int { return len(f.src.Layers) + 1 }

// Source is what the forward sends.
func (f *Forward) Source() Source { return f.src }

// Done is closed once the forward has ended (Close, the subscriber ended,
// or the main stream ended).
func (f *Forward) Done() <-chan struct{} { return f.done }

// Close stops forwarding, removes the tracks (the client gets a new offer)
// and waits for the forward's goroutines.
func (f *Forward) Close() {
	f.cancel()
	<-f.done
}
