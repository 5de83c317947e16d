package room

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/media"
	"pingan/media/webrtc"
)

// JoinOptions describe who joins.
type JoinOptions struct {
	Name string
	// User identifies the person across reconnects (a username, or a
	// guest's token id); a host's Remove bans it from the room.
	User string
	Role Role
	// Resume takes back a participant that disconnected less than the
	// grace period ago (same User); its id, role, floor and attendance
	// continue.
	Resume ParticipantID
	// Manual turns automatic subscription off: the participant receives
	// only what it subscribes to.
	Manual bool
	// OnEvent receives the participant's events. It runs on room
	// goroutines and must not block (signaling queues to the WebSocket).
	OnEvent func(Event)
}

// Participant is one member of a room: a person (or a camera stream).
type Participant struct {
	room   *Room
	id     ParticipantID
	name   string
	user   string
	role   Role
	camera bool
	joined time.Time
	att    *Attendance
	manual bool

	onEvent atomic.Pointer[func(Event)]
	level   levelMeter

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wakeCh chan struct{}

	// Guarded by room.mu.
	pubs       map[string]*publication // by source
	hand       bool
	floor      bool
	mutedAudio bool
	mutedVideo bool
	connected  bool
	grace      *time.Timer
	left       bool
	removed    bool                    // a host removed it (a removed camera is not restored)
	wanted     map[media.StreamID]bool // manual subscriptions
	unwanted   map[media.StreamID]bool // auto mode opt-outs
	quality    map[media.StreamID]int  // requested top layer per publication; absent = top

	// Owned by the subscription worker (subscribe.go).
	sub      *webrtc.Subscriber
	subGen   uint64 // bumped to replace the subscriber (resume)
	forwards map[media.StreamID]*webrtc.Forward
	subMu    sync.Mutex // guards sub, subGen, forwards for readers outside the worker
}

// Join adds a participant (or resumes one within the grace period).
func (r *Room) Join(o JoinOptions) (*Participant, error) {
	if !o.Role.Valid() {
		return nil, fmt.Errorf("%w: role %q", ErrInvalid, o.Role)
	}
	o.Name = strings.TrimSpace(o.Name)
	if o.Name == "" {
		o.Name = o.User
	}
	if len(o.Name) > 100 {
		o.Name = o.Name[:100]
	}
	if p, err, ok := r.resume(o); ok {
		return p, err
	}
	r.mu.Lock()
	if !r.endedAt.IsZero() {
		r.mu.Unlock()
		return nil, ErrEnded
	}
	if r.banned[o.User] {
		r.mu.Unlock()
		return nil, ErrRemoved
	}
	limit := r.m.cfg.MaxMeetingMembers
	if r.kind == KindClass {
		limit = r.m.cfg.MaxClassMembers
	}
	if r.settings.MaxMembers > 0 {
		limit = min(limit, r.settings.MaxMembers)
	}
	if len(r.parts)-r.cameras >= limit {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: at most %d members", ErrFull, limit)
	}
	p := r.newParticipantLocked(o.Name, o.User, o.Role, false)
	p.manual = o.Manual
	p.connected = true
	if o.OnEvent != nil {
		p.onEvent.Store(&o.OnEvent)
	}
	r.m.persist.row(r.id, *p.att) // under r.mu: a later leave's row is queued after it
	r.mu.Unlock()
	p.start()
	info := p.Info()
	r.broadcast(Event{Type: EventJoined, Participant: &info}, p)
	r.log.Info("participant joined", "participant", p.id, "name", p.name, "role", p.role)
	return p, nil
}

func (r *Room) newParticipantLocked(name, user string, role Role, camera bool) *Participant {
	p := &Participant{
		room: r, id: ParticipantID(randomID(4)), name: name, user: user, role: role, camera: camera,
		joined: time.Now().UTC(), wakeCh: make(chan struct{}, 1),
		pubs: map[string]*publication{}, wanted: map[media.StreamID]bool{},
		unwanted: map[media.StreamID]bool{}, quality: map[media.StreamID]int{},
		forwards: map[media.StreamID]*webrtc.Forward{},
	}
	for r.parts[p.id] != nil || r.oldIDs[p.id] {
		p.id = ParticipantID(randomID(4))
	}
	p.ctx, p.cancel = context.WithCancel(r.m.ctx)
	p.att = &Attendance{Participant: p.id, Name: name, User: user, Role: role, Joined: p.joined}
	r.parts[p.id] = p
	r.order = append(r.order, p.id)
	if camera {
		r.cameras++
	} else {
		r.attendance = append(r.attendance, p.att)
	}
	return p
}

// resume reattaches a disconnected participant; ok is false when o does
// not ask to resume a known participant.
func (r *Room) resume(o JoinOptions) (*Participant, error, bool) {
	if o.Resume == "" {
		return nil, nil, false
	}
	r.mu.Lock()
	p, found := r.parts[o.Resume]
	if !found || p.user != o.User || p.left || p.camera {
		r.mu.Unlock()
		return nil, nil, false
	}
	if p.grace != nil {
		p.grace.Stop()
		p.grace = nil
	}
	p.connected = true
	p.manual = o.Manual
	if o.OnEvent != nil {
		p.onEvent.Store(&o.OnEvent)
	}
	r.mu.Unlock()
	p.resetSubscriber() // the new page answers a fresh offer
	r.updated(p)
	r.log.Info("participant resumed", "participant", p.id)
	return p, nil, true
}

// start runs the participant's subscription worker.
func (p *Participant) start() {
	p.wg.Add(1)
	go p.subscriptions()
	p.wake()
}

// ID is the participant's id.
func (p *Participant) ID() ParticipantID { return p.id }

// Role is the participant's role.
func (p *Participant) Role() Role { return p.role }

// Room is the participant's room.
func (p *Participant) Room() *Room { return p.room }

// Info describes the participant.
func (p *Participant) Info() ParticipantInfo {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	return p.infoLocked()
}

func (p *Participant) infoLocked() ParticipantInfo {
	in := ParticipantInfo{
		ID: p.id, Name: p.name, User: p.user, Role: p.role, Camera: p.camera,
		AudioMuted: p.mutedAudio, VideoMuted: p.mutedVideo, Hand: p.hand, Floor: p.floor,
		Connected: p.connected, Joined: p.joined, Streams: []media.StreamID{},
	}
	srcs := make([]string, 0, len(p.pubs))
	for s := range p.pubs {
		srcs = append(srcs, s)
	}
	slices.Sort(srcs)
	for _, s := range srcs {
		in.Streams = append(in.Streams, p.pubs[s].id)
		in.Labels = append(in.Labels, p.pubs[s].label)
	}
	return in
}

// emit delivers ev to the participant's connection (if any).
func (p *Participant) emit(ev Event) {
	if ev.Room == "" {
		ev.Room = p.room.id
	}
	if f := p.onEvent.Load(); f != nil {
		(*f)(ev)
	}
}

// Disconnect is called when the participant's signaling connection
// drops: it keeps its place for the grace period, then leaves.
func (p *Participant) Disconnect() {
	r := p.room
	r.mu.Lock()
	if p.left || !p.connected {
		r.mu.Unlock()
		return
	}
	p.connected = false
	p.onEvent.Store(nil)
	p.grace = time.AfterFunc(r.m.cfg.GracePeriod, func() { p.leave("did not reconnect") })
	r.mu.Unlock()
	r.updated(p)
}

// Leave removes the participant from the room.
func (p *Participant) Leave() { p.leave("left") }

func (p *Participant) leave(reason string) {
	r := p.room
	r.mu.Lock()
	if p.left {
		r.mu.Unlock()
		return
	}
	p.left = true
	if p.grace != nil {
		p.grace.Stop()
	}
	p.att.Left = time.Now().UTC()
	if !p.camera {
		r.m.persist.row(r.id, *p.att)
	}
	delete(r.parts, p.id)
	if i := slices.Index(r.order, p.id); i >= 0 {
		r.order = slices.Delete(r.order, i, i+1)
	}
	if p.camera {
		r.cameras--
	}
	r.mu.Unlock()
	p.cancel()
	p.unpublishAll()
	p.wg.Wait()
	info := p.Info()
	r.broadcast(Event{Type: EventLeft, Participant: &info, Reason: reason}, p)
	r.wakeAll()
	r.log.Info("participant left", "participant", p.id, "reason", reason)
}

// Left reports whether the participant has left.
func (p *Participant) Left() bool {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	return p.left
}

// SetMuted mutes or unmutes the participant's own audio or video.
func (p *Participant) SetMuted(video, muted bool) {
	p.setMuted(video, muted)
	p.room.updated(p)
}

func (p *Participant) setMuted(video, muted bool) {
	r := p.room
	r.mu.Lock()
	if video {
		p.mutedVideo = muted
	} else {
		p.mutedAudio = muted
	}
	var ins []*webrtc.Ingest
	for _, pub := range p.pubs {
		if pub.ingest != nil {
			ins = append(ins, pub.ingest)
		}
	}
	r.mu.Unlock()
	for _, in := range ins {
		in.SetMuted(video, muted)
	}
}

// RaiseHand raises or lowers the participant's hand; everyone is told.
func (p *Participant) RaiseHand(up bool) {
	p.room.mu.Lock()
	p.hand = up
	p.room.mu.Unlock()
	p.room.broadcast(Event{Type: EventHand, From: p.id, Value: &up}, nil)
	p.room.updated(p)
}

// Chat sends text to everyone (to == "") or to one participant.
func (p *Participant) Chat(text string, to ParticipantID) error {
	text = strings.TrimSpace(text)
	if text == "" || len(text) > 4000 {
		return fmt.Errorf("%w: chat text must be 1–4000 bytes", ErrInvalid)
	}
	ev := Event{Type: EventChat, Room: p.room.id, From: p.id, Text: text, Time: time.Now().UTC()}
	if to == "" {
		p.room.broadcast(ev, nil)
		return nil
	}
	t, ok := p.room.Participant(to)
	if !ok {
		return ErrNotFound
	}
	t.emit(ev)
	p.emit(ev)
	return nil
}

// AddICECandidate adds a trickled client candidate to the subscriber
// (source "") or to the publication of source.
func (p *Participant) AddICECandidate(source string, c pwebrtc.ICECandidateInit) error {
	if source == "" {
		sub := p.Subscriber()
		if sub == nil {
			return ErrNotFound
		}
		return sub.AddICECandidate(c)
	}
	p.room.mu.Lock()
	pub := p.pubs[source]
	p.room.mu.Unlock()
	if pub == nil || pub.ingest == nil {
		return ErrNotFound
	}
	return pub.ingest.AddICECandidate(c)
}
