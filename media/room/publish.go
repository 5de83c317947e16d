package room

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync/atomic"
	"time"

	"pingan/media"
	"pingan/media/webrtc"
)

// publication is one published source of a participant: a hub stream
// (audio + the top video layer) plus lower simulcast layers.
type publication struct {
	id     media.StreamID
	layers []media.StreamID // lower layers, lowest first
	source string
	label  string // msid stream id subscribers see
	owner  *Participant
	ingest *webrtc.Ingest // nil for a camera
	live   atomic.Bool
}

func (pub *publication) webrtcSource() webrtc.Source {
	return webrtc.Source{Main: pub.id, Layers: pub.layers, Label: pub.label}
}

// PublishOptions describe a publication.
type PublishOptions struct {
	// Source names it: "camera" (default), "screen", … ([a-z0-9-]{1,16}).
	Source string
	// Layers lists the simulcast rids lowest first; by default the offer's
	// rids ordered q<h<f, l<m<h, or by name.
	Layers []string
}

var sourceRe = regexp.MustCompile(`^[a-z0-9-]{1,16}$`)

// Published is the result of Publish.
type Published struct {
	Answer string         // the SDP answer
	Stream media.StreamID // the publication's main stream
	// Session is the ingest; closing it ends the publication.
	Session *webrtc.Ingest
}

// Publish answers a publisher offer: the tracks become the stream
// room/{room}/{participant} ("…/{source}" for other sources than camera),
// lower simulcast layers "…~{rid}". A publication of the same source
// replaces the previous one. The ingest lives until Unpublish, the
// participant leaves, or ICE fails (ctx only bounds the answer).
func (p *Participant) Publish(ctx context.Context, offer string, o PublishOptions) (Published, error) {
	ans, id, in, err := p.publish(ctx, offer, o)
	return Published{Answer: ans, Stream: id, Session: in}, err
}

func (p *Participant) publish(ctx context.Context, offer string, o PublishOptions) (string, media.StreamID, *webrtc.Ingest, error) {
	if o.Source == "" {
		o.Source = "camera"
	}
	if !sourceRe.MatchString(o.Source) {
		return "", "", nil, fmt.Errorf("%w: source %q", ErrInvalid, o.Source)
	}
	po, err := webrtc.ParsePublishOffer(offer)
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	old, err := p.mayPublish(o.Source)
	if err != nil {
		return "", "", nil, err
	}
	if old != nil && old.ingest != nil {
		old.ingest.Close()
	}
	pub, opts, err := p.openStreams(o, po)
	if err != nil {
		return "", "", nil, err
	}
	if err := ctx.Err(); err != nil {
		opts.Stream.Close()
		for _, s := range opts.Layers {
			s.Close()
		}
		return "", "", nil, err
	}
	in, answer, err := p.room.m.cfg.Engine.NewWHIPSession(p.ctx, offer, opts)
	if err != nil {
		return "", "", nil, err
	}
	pub.ingest = in
	if err := p.addPublication(pub); err != nil {
		in.Close()
		return "", "", nil, err
	}
	in.OnClose(func() { p.removePublication(pub) })
	go p.awaitLive(pub) // addPublication counted it in p.wg
	p.room.updated(p)
	p.room.log.Info("participant published", "participant", p.id, "stream", pub.id, "layers", len(pub.layers))
	return answer, pub.id, in, nil
}

// mayPublish checks the room's rules and returns the publication the new
// one replaces.
func (p *Participant) mayPublish(source string) (*publication, error) {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case p.left || !r.endedAt.IsZero():
		return nil, ErrEnded
	case p.camera:
		return nil, fmt.Errorf("%w: a camera does not publish", ErrForbidden)
	case p.role == RoleViewer && !p.floor:
		return nil, fmt.Errorf("%w: a viewer publishes only when given the floor", ErrForbidden)
	}
	if len(p.pubs) == 0 {
		if r.kind == KindMeeting && r.publishersLocked() >= r.m.cfg.MaxMeetingPublishers {
			return nil, fmt.Errorf("%w: a meeting has at most %d publishers", ErrFull, r.m.cfg.MaxMeetingPublishers)
		}
		if r.kind == KindClass && !p.floor && r.presentersLocked() >= r.m.cfg.MaxPresenters {
			return nil, fmt.Errorf("%w: a class has at most %d presenters", ErrFull, r.m.cfg.MaxPresenters)
		}
	}
	return p.pubs[source], nil
}

// openStreams publishes the hub streams of a new publication.
func (p *Participant) openStreams(o PublishOptions, po webrtc.PublishOffer) (*publication, webrtc.IngestOptions, error) {
	base := media.StreamID(fmt.Sprintf("room/%s/%s", p.room.id, p.id))
	label := string(p.id)
	if o.Source != "camera" {
		base += media.StreamID("/" + o.Source)
		label += "." + o.Source
	}
	pub := &publication{id: base, source: o.Source, label: label, owner: p}
	streams := p.room.m.cfg.Streams
	var opts webrtc.IngestOptions
	var err error
	if opts.Stream, err = publishRetry(streams, base); err != nil {
		return nil, opts, err
	}
	rids := orderRIDs(po.RIDs, o.Layers)
	opts.OnAudioLevel = p.level.add
	if len(rids) > 1 {
		opts.TopRID = rids[len(rids)-1]
		opts.Layers = map[string]*media.Stream{}
		for _, rid := range rids[:len(rids)-1] {
			id := base + media.StreamID("~"+rid)
			s, err := publishRetry(streams, id)
			if err != nil {
				opts.Stream.Close()
				for _, s := range opts.Layers {
					s.Close()
				}
				return nil, opts, err
			}
			opts.Layers[rid] = s
			pub.layers = append(pub.layers, id)
		}
	}
	return pub, opts, nil
}

// publishRetry publishes id, waiting briefly for a replaced publication's
// stream to be unregistered.
func publishRetry(streams Streams, id media.StreamID) (*media.Stream, error) {
	for i := 0; ; i++ {
		s, err := streams.Publish(id)
		if err == nil || !errors.Is(err, media.ErrPublisherSet) || i == 20 {
			return s, err
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (p *Participant) addPublication(pub *publication) error {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.left {
		return ErrEnded
	}
	p.pubs[pub.source] = pub
	p.wg.Add(1) // awaitLive; before leave's Wait, which sets left first
	return nil
}

// removePublication forgets an ended publication and tells the room.
func (p *Participant) removePublication(pub *publication) {
	r := p.room
	r.mu.Lock()
	cur := p.pubs[pub.source] == pub
	if cur {
		delete(p.pubs, pub.source)
	}
	left := p.left
	r.mu.Unlock()
	if cur && !left {
		r.updated(p)
	}
	r.wakeAll()
}

// awaitLive marks pub live once its stream has tracks, so subscribers do
// not wait on a publisher that is still connecting.
func (p *Participant) awaitLive(pub *publication) {
	defer p.wg.Done()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.ctx.Done():
			return
		case <-pub.ingest.Done():
			return
		case <-t.C:
		}
		if info, ok := p.room.m.cfg.Streams.Info(pub.id); ok && info.Online {
			p.room.streamLive(pub.id)
			return
		}
	}
}

// Unpublish stops the participant's publication of source.
func (p *Participant) Unpublish(source string) error {
	p.room.mu.Lock()
	pub := p.pubs[source]
	p.room.mu.Unlock()
	if pub == nil {
		return ErrNotFound
	}
	if pub.ingest != nil {
		pub.ingest.Close()
	}
	return nil
}

// unpublishAll stops every publication (camera aliases are removed).
func (p *Participant) unpublishAll() {
	r := p.room
	r.mu.Lock()
	pubs := make([]*publication, 0, len(p.pubs))
	for _, pub := range p.pubs {
		pubs = append(pubs, pub)
	}
	if p.camera {
		clear(p.pubs)
	}
	r.mu.Unlock()
	for _, pub := range pubs {
		if pub.ingest != nil {
			pub.ingest.Close()
		} else {
			r.m.cfg.Streams.Alias(pub.id, "")
		}
	}
}

// cameraUserPrefix + stream is a camera pseudo-participant's user.
const cameraUserPrefix = "camera:"

// AddCamera adds a stream (gb/…, rtsp/…, demo/…) as a pseudo-participant
// every member receives; members may also read it over WHEP as
// room/{room}/{participant} (a hub alias). The caller checks that the host
// may read the stream.
func (r *Room) AddCamera(stream media.StreamID, name string) (*Participant, error) {
	if stream == "" {
		return nil, fmt.Errorf("%w: no stream", ErrInvalid)
	}
	if name == "" {
		name = string(stream)
	}
	r.mu.Lock()
	if !r.endedAt.IsZero() {
		r.mu.Unlock()
		return nil, ErrEnded
	}
	if r.kind == KindMeeting && r.publishersLocked() >= r.m.cfg.MaxMeetingPublishers {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: a meeting has at most %d publishers", ErrFull, r.m.cfg.MaxMeetingPublishers)
	}
	p := r.newParticipantLocked(name, cameraUserPrefix+string(stream), RoleParticipant, true)
	p.connected = true
	r.m.persist.room(r.recordLocked()) // the camera comes back after a restart
	alias := media.StreamID(fmt.Sprintf("room/%s/%s", r.id, p.id))
	pub := &publication{id: alias, source: "camera", label: string(p.id), owner: p}
	pub.live.Store(true) // on-demand sources start on the first reader
	p.pubs["camera"] = pub
	r.mu.Unlock()
	r.m.cfg.Streams.Alias(alias, stream)
	info := p.Info()
	r.broadcast(Event{Type: EventJoined, Participant: &info}, p)
	r.wakeAll()
	r.log.Info("camera added", "participant", p.id, "stream", stream)
	return p, nil
}

// orderRIDs orders simulcast rids lowest first: the publisher's hint if
// it names the same rids, else q<h<f, l<m<h, or by name.
func orderRIDs(rids, hint []string) []string {
	if len(rids) <= 1 {
		return rids
	}
	if len(hint) == len(rids) {
		ok := true
		for _, h := range hint {
			ok = ok && slices.Contains(rids, h)
		}
		if ok {
			return slices.Clone(hint)
		}
	}
	rank := map[string]int{"q": 0, "h": 1, "f": 2}
	if !slices.Contains(rids, "f") && !slices.Contains(rids, "q") {
		rank = map[string]int{"l": 0, "low": 0, "m": 1, "mid": 1, "h": 2, "high": 2}
	}
	out := slices.Clone(rids)
	slices.SortStableFunc(out, func(a, b string) int {
		ra, oka := rank[a]
		rb, okb := rank[b]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return out
}
