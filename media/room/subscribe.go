package room

import (
	"context"
	"fmt"
	"time"

	"pingan/media"
	"pingan/media/webrtc"
)

// subscriberRetry is the least time between two subscriber PeerConnections
// of one participant after one failed (an unanswered offer, ICE failure).
const subscriberRetry = 5 * time.Second

// Subscribe asks to receive stream (a publication of the room) and, with
// maxLayer ≥ 0, caps its simulcast layer (0 lowest); -1 means no cap.
func (p *Participant) Subscribe(stream media.StreamID, maxLayer int) error {
	r := p.room
	r.mu.Lock()
	if !r.hasPublicationLocked(stream) {
		r.mu.Unlock()
		return ErrNotFound
	}
	p.wanted[stream] = true
	delete(p.unwanted, stream)
	if maxLayer >= 0 {
		p.quality[stream] = maxLayer
	} else {
		delete(p.quality, stream)
	}
	r.mu.Unlock()
	p.wake()
	return nil
}

// Unsubscribe stops receiving stream.
func (p *Participant) Unsubscribe(stream media.StreamID) {
	r := p.room
	r.mu.Lock()
	delete(p.wanted, stream)
	p.unwanted[stream] = true
	r.mu.Unlock()
	p.wake()
}

func (r *Room) hasPublicationLocked(id media.StreamID) bool {
	for _, q := range r.parts {
		for _, pub := range q.pubs {
			if pub.id == id {
				return true
			}
		}
	}
	return false
}

// Answer applies the client's answer to the last subscriber offer.
func (p *Participant) Answer(sdp string) error {
	p.subMu.Lock()
	sub := p.sub
	p.subMu.Unlock()
	if sub == nil {
		return fmt.Errorf("%w: no offer is waiting for an answer", ErrInvalid)
	}
	return sub.SetAnswer(sdp)
}

// Subscriber is the participant's current subscriber PeerConnection (nil
// before the first subscription).
func (p *Participant) Subscriber() *webrtc.Subscriber {
	p.subMu.Lock()
	defer p.subMu.Unlock()
	return p.sub
}

// Forwards returns the participant's current forwards by stream.
func (p *Participant) Forwards() map[media.StreamID]*webrtc.Forward {
	p.subMu.Lock()
	defer p.subMu.Unlock()
	out := make(map[media.StreamID]*webrtc.Forward, len(p.forwards))
	for k, v := range p.forwards {
		out[k] = v
	}
	return out
}

func (p *Participant) wake() {
	select {
	case p.wakeCh <- struct{}{}:
	default:
	}
}

// subscriptions is the participant's worker: it keeps its forwards equal
// to what it should receive, one change at a time.
func (p *Participant) subscriptions() {
	defer p.wg.Done()
	defer p.closeSubscriber()
	var retryAt time.Time
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.wakeCh:
		}
		retryAt = p.reconcile(retryAt)
	}
}

// desired lists the live publications p should receive.
func (p *Participant) desired() (map[media.StreamID]*publication, bool) {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[media.StreamID]*publication{}
	for _, q := range r.parts {
		if q == p {
			continue
		}
		for _, pub := range q.pubs {
			if !pub.live.Load() {
				continue
			}
			if (p.manual && p.wanted[pub.id]) || (!p.manual && !p.unwanted[pub.id]) {
				out[pub.id] = pub
			}
		}
	}
	return out, p.connected
}

func (p *Participant) reconcile(retryAt time.Time) time.Time {
	want, connected := p.desired()
	var stale []*webrtc.Forward
	p.subMu.Lock()
	for id, f := range p.forwards {
		if want[id] == nil || isDone(f.Done()) {
			stale = append(stale, f)
			delete(p.forwards, id)
		}
	}
	sub := p.sub
	var add []*publication
	for id, pub := range want {
		if p.forwards[id] == nil {
			add = append(add, pub)
		}
	}
	p.subMu.Unlock()
	for _, f := range stale {
		f.Close()
	}
	if len(add) == 0 {
		return retryAt
	}
	if sub == nil {
		if !connected {
			return retryAt
		}
		if wait := time.Until(retryAt); wait > 0 {
			time.AfterFunc(wait, p.wake)
			return retryAt
		}
		var err error
		if sub, err = p.newSubscriber(); err != nil {
			p.room.log.Warn("subscriber not created", "participant", p.id, "err", err)
			return time.Now().Add(subscriberRetry)
		}
		retryAt = time.Now().Add(subscriberRetry)
	}
	for _, pub := range add {
		p.forward(sub, pub)
	}
	return retryAt
}

func (p *Participant) newSubscriber() (*webrtc.Subscriber, error) {
	sub, err := p.room.m.cfg.Engine.NewSubscriber(p.ctx, webrtc.SubscriberOptions{
		OnOffer: func(sdp string) { p.emit(Event{Type: EventOffer, SDP: sdp, Time: time.Now().UTC()}) },
	})
	if err != nil {
		return nil, err
	}
	p.subMu.Lock()
	p.sub = sub
	p.subMu.Unlock()
	sub.OnClose(func() {
		p.subMu.Lock()
		if p.sub == sub {
			p.sub = nil
			clear(p.forwards)
		}
		p.subMu.Unlock()
		p.wake()
	})
	return sub, nil
}

// forward starts sending pub to the participant's subscriber.
func (p *Participant) forward(sub *webrtc.Subscriber, pub *publication) {
	streams := p.room.m.cfg.Streams
	layer := -1
	p.room.mu.Lock()
	if q, ok := p.quality[pub.id]; ok {
		layer = q
	}
	p.room.mu.Unlock()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	f, err := sub.Forward(ctx, pub.webrtcSource(), webrtc.ForwardOptions{
		Layer: layer,
		Subscribe: func(ctx context.Context, id media.StreamID) (webrtc.Reader, error) {
			r, err := streams.Subscribe(ctx, id, media.ReaderOptions{})
			if err != nil {
				return nil, err
			}
			return r, nil
		},
	})
	if err != nil {
		p.room.log.Info("forward not started", "participant", p.id, "stream", pub.id, "err", err)
		return
	}
	p.subMu.Lock()
	if p.sub != sub {
		p.subMu.Unlock()
		f.Close()
		return
	}
	p.forwards[pub.id] = f
	p.subMu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-f.Done():
			p.wake()
		case <-p.ctx.Done():
		}
	}()
}

// resetSubscriber drops the subscriber PeerConnection; the worker builds a
// new one (a resumed participant's new page answers a fresh offer).
func (p *Participant) resetSubscriber() {
	p.subMu.Lock()
	sub := p.sub
	p.subMu.Unlock()
	if sub != nil {
		sub.Close()
	}
	p.wake()
}

func (p *Participant) closeSubscriber() {
	p.subMu.Lock()
	sub := p.sub
	p.subMu.Unlock()
	if sub != nil {
		sub.Close()
	}
}

// chooseLayers re-chooses the simulcast layer of every forward from the
// subscriber's bandwidth estimate and the requested caps.
func (p *Participant) chooseLayers() {
	p.subMu.Lock()
	sub := p.sub
	fs := make([]*webrtc.Forward, 0, len(p.forwards))
	for _, f := range p.forwards {
		if f.NumLayers() > 1 {
			fs = append(fs, f)
		}
	}
	p.subMu.Unlock()
	if sub == nil || len(fs) == 0 {
		return
	}
	cands := make([]layerCandidate, len(fs))
	p.room.mu.Lock()
	for i, f := range fs {
		cands[i].max = f.NumLayers() - 1
		if q, ok := p.quality[f.Source().Main]; ok {
			cands[i].max = min(q, cands[i].max)
		}
	}
	p.room.mu.Unlock()
	for i, f := range fs {
		src := f.Source()
		ids := append(append([]media.StreamID{}, src.Layers...), src.Main)
		cands[i].bitrates = make([]int64, len(ids))
		for j, id := range ids {
			if info, ok := p.room.m.cfg.Streams.Info(id); ok {
				cands[i].bitrates[j] = info.Bitrate
			}
		}
	}
	for i, l := range selectLayers(sub.Estimate(), cands) {
		fs[i].SetLayer(l)
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
