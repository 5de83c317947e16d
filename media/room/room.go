package room

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"pingan/media"
)

// Room is one meeting or class. One mutex guards its state; it is never
// held across a call into media or webrtc (those run after unlocking).
type Room struct {
	m        *Manager
	id       ID
	kind     Kind
	name     string
	caseID   string
	host     string
	region   string
	settings Settings
	created  time.Time
	log      *slog.Logger

	mu         sync.Mutex
	parts      map[ParticipantID]*Participant
	order      []ParticipantID // join order
	attendance []*Attendance
	banned     map[string]bool // users a host removed
	endedAt    time.Time
	speakers   []ParticipantID
	cameras    int
	// oldIDs are participant ids of attendance rows from before a
	// restart: new participants do not reuse them.
	oldIDs map[ParticipantID]bool
}

func newRoom(m *Manager, id ID, o CreateOptions) *Room {
	return &Room{
		m: m, id: id, kind: o.Kind, name: o.Name, caseID: o.Case, host: o.Host, region: o.Region,
		settings: o.Settings, created: time.Now().UTC(), log: m.log.With("room", string(id)),
		parts: map[ParticipantID]*Participant{}, banned: map[string]bool{},
	}
}

// restoredRoom rebuilds a room from the Store, without participants.
func restoredRoom(m *Manager, s Saved) *Room {
	r := newRoom(m, s.ID, CreateOptions{Kind: s.Kind, Name: s.Name, Case: s.Case, Host: s.Host, Region: s.Region, Settings: s.Settings})
	r.created = s.Created
	if s.Ended != nil {
		r.endedAt = *s.Ended
	}
	for _, u := range s.Banned {
		r.banned[u] = true
	}
	r.oldIDs = make(map[ParticipantID]bool, len(s.Attendance))
	slices.SortStableFunc(s.Attendance, func(a, b Attendance) int { return a.Joined.Compare(b.Joined) })
	for _, a := range s.Attendance {
		r.attendance = append(r.attendance, &a)
		r.oldIDs[a.Participant] = true
	}
	return r
}

// closeOpenRows gives rows still open (the hub stopped without saving
// their leave) the leave time now, and returns them.
func (r *Room) closeOpenRows(now time.Time) []Attendance {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Attendance
	for _, a := range r.attendance {
		if a.Left.IsZero() {
			a.Left = now
			out = append(out, *a)
		}
	}
	return out
}

// record is the room's durable part.
func (r *Room) record() Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recordLocked()
}

func (r *Room) recordLocked() Record {
	rec := Record{ID: r.id, Kind: r.kind, Name: r.name, Case: r.caseID, Host: r.host, Region: r.region,
		Created: r.created, Settings: r.settings}
	if !r.endedAt.IsZero() {
		t := r.endedAt
		rec.Ended = &t
	}
	for u := range r.banned {
		rec.Banned = append(rec.Banned, u)
	}
	slices.Sort(rec.Banned)
	for _, id := range r.order {
		if p := r.parts[id]; p != nil && p.camera && !p.removed {
			stream, _ := strings.CutPrefix(p.user, cameraUserPrefix)
			rec.Cameras = append(rec.Cameras, Camera{Stream: stream, Name: p.name})
		}
	}
	return rec
}

// recordInfo describes a stored room (no participants).
func recordInfo(rec Record) Info {
	return Info{ID: rec.ID, Kind: rec.Kind, Name: rec.Name, Case: rec.Case, Host: rec.Host, Region: rec.Region,
		Created: rec.Created, Ended: rec.Ended, Settings: rec.Settings, Participants: []ParticipantInfo{}}
}

// ID is the room's id.
func (r *Room) ID() ID { return r.id }

// Kind is the room's kind.
func (r *Room) Kind() Kind { return r.kind }

// Host is the user who created the room.
func (r *Room) Host() string { return r.host }

// Info describes the room and its participants (join order).
func (r *Room) Info() Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := Info{ID: r.id, Kind: r.kind, Name: r.name, Case: r.caseID, Host: r.host, Region: r.region,
		Created: r.created, Settings: r.settings, Participants: make([]ParticipantInfo, 0, len(r.order))}
	if !r.endedAt.IsZero() {
		t := r.endedAt
		in.Ended = &t
	}
	for _, id := range r.order {
		in.Participants = append(in.Participants, r.parts[id].infoLocked())
	}
	return in
}

// Participant finds a participant.
func (r *Room) Participant(id ParticipantID) (*Participant, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.parts[id]
	return p, ok
}

// HasMember reports whether user is (or is about to be back as) a
// participant: room members may read the room's streams over WHEP.
func (r *Room) HasMember(user string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.parts {
		if p.user == user {
			return true
		}
	}
	return false
}

// Ended reports whether the room has ended.
func (r *Room) Ended() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.endedAt.IsZero()
}

// snapshot returns the participants (for fan-out without the lock).
func (r *Room) snapshot() []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Participant, 0, len(r.parts))
	for _, p := range r.parts {
		out = append(out, p)
	}
	return out
}

// broadcast sends ev to every participant except skip.
func (r *Room) broadcast(ev Event, skip *Participant) {
	ev.Room = r.id
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	for _, p := range r.snapshot() {
		if p != skip {
			p.emit(ev)
		}
	}
}

// updated tells everyone that p changed.
func (r *Room) updated(p *Participant) {
	info := p.Info()
	r.broadcast(Event{Type: EventUpdated, Participant: &info}, nil)
}

// publishers counts participants with a publication (cameras included in
// meetings; in classes the presenters).
func (r *Room) publishersLocked() int {
	n := 0
	for _, p := range r.parts {
		if len(p.pubs) > 0 {
			n++
		}
	}
	return n
}

// wakeAll asks every participant to reconcile its subscriptions.
func (r *Room) wakeAll() {
	for _, p := range r.snapshot() {
		p.wake()
	}
}

// publications lists every live publication of the room.
func (r *Room) publications() []*publication {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*publication
	for _, id := range r.order {
		for _, pub := range r.parts[id].pubs {
			out = append(out, pub)
		}
	}
	return out
}

// End closes the room: everyone gets EventEnded and is disconnected, and
// every publication stops. It is idempotent.
func (r *Room) End(reason string) {
	r.mu.Lock()
	if !r.endedAt.IsZero() {
		r.mu.Unlock()
		return
	}
	r.endedAt = time.Now().UTC()
	r.m.persist.room(r.recordLocked()) // under r.mu, so record writes queue in order
	r.mu.Unlock()
	r.broadcast(Event{Type: EventEnded, Reason: reason}, nil)
	for _, p := range r.snapshot() {
		p.leave("room ended")
	}
	r.m.roomEnded(r)
	r.log.Info("room ended", "reason", reason)
}

// suspend disconnects everyone (the hub is stopping) but leaves the room
// open in the Store: after a restart its members rejoin.
func (r *Room) suspend(reason string) {
	for _, p := range r.snapshot() {
		p.leave(reason)
	}
	r.log.Info("room suspended", "reason", reason)
}

// Mute is a host action: it stops target's audio or video at the server
// and tells target (who alone may unmute).
func (r *Room) Mute(by, target ParticipantID, video bool) error {
	p, err := r.hostAction(by, target)
	if err != nil {
		return err
	}
	p.setMuted(video, true)
	v := true
	p.emit(Event{Type: EventMuted, Room: r.id, From: by, Kind: kindName(video), Value: &v, Time: time.Now().UTC()})
	return nil
}

// Remove is a host action: target leaves and may not come back.
func (r *Room) Remove(by, target ParticipantID) error {
	p, err := r.hostAction(by, target)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if !p.camera {
		r.banned[p.user] = true
	}
	p.removed = true // a removed camera is not restored
	r.m.persist.room(r.recordLocked())
	r.mu.Unlock()
	p.emit(Event{Type: EventRemoved, Room: r.id, From: by, Time: time.Now().UTC()})
	p.leave("removed by a host")
	return nil
}

// SetFloor is a host action: give (or take) target the right to publish.
// Taking the floor stops target's publications.
func (r *Room) SetFloor(by, target ParticipantID, granted bool) error {
	p, err := r.hostAction(by, target)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if granted && r.kind == KindClass && p.role != RoleHost && r.presentersLocked() >= r.m.cfg.MaxPresenters {
		r.mu.Unlock()
		return fmt.Errorf("%w: a class has at most %d presenters", ErrFull, r.m.cfg.MaxPresenters)
	}
	p.floor = granted
	if granted {
		p.hand = false
	}
	r.mu.Unlock()
	if !granted && p.role == RoleViewer {
		p.unpublishAll()
	}
	p.emit(Event{Type: EventFloor, Room: r.id, From: by, Value: &granted, Time: time.Now().UTC()})
	r.updated(p)
	return nil
}

// presentersLocked counts those who may publish in a class: hosts that
// publish and floor holders.
func (r *Room) presentersLocked() int {
	n := 0
	for _, p := range r.parts {
		if p.floor || (p.role == RoleHost && len(p.pubs) > 0) {
			n++
		}
	}
	return n
}

// EndBy is the host action "end the room".
func (r *Room) EndBy(by ParticipantID) error {
	if _, err := r.hostAction(by, by); err != nil {
		return err
	}
	r.End("ended by a host")
	return nil
}

// hostAction checks that by is a host and finds target.
func (r *Room) hostAction(by, target ParticipantID) (*Participant, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.endedAt.IsZero() {
		return nil, ErrEnded
	}
	h, ok := r.parts[by]
	if !ok || h.role != RoleHost {
		return nil, fmt.Errorf("%w: only a host may do this", ErrForbidden)
	}
	p, ok := r.parts[target]
	if !ok {
		return nil, ErrNotFound
	}
	return p, nil
}

// detectSpeaker picks the loudest participants over the last window and
// tells everyone when the order changes.
func (r *Room) detectSpeaker() {
	type lv struct {
		id  ParticipantID
		avg float64
	}
	var loud []lv
	for _, p := range r.snapshot() {
		if avg, ok := p.level.take(); ok && avg >= speakingLevel {
			loud = append(loud, lv{p.id, avg})
		}
	}
	slices.SortFunc(loud, func(a, b lv) int { return cmp.Compare(b.avg, a.avg) })
	ids := make([]ParticipantID, 0, 3)
	for i := 0; i < len(loud) && i < 3; i++ {
		ids = append(ids, loud[i].id)
	}
	r.mu.Lock()
	same := slices.Equal(ids, r.speakers)
	r.speakers = ids
	r.mu.Unlock()
	if !same {
		r.broadcast(Event{Type: EventSpeaker, Speakers: ids}, nil)
	}
}

// tick re-chooses simulcast layers and notices publications gone live.
func (r *Room) tick() {
	live := false
	for _, pub := range r.publications() {
		if !pub.live.Load() {
			if info, ok := r.m.cfg.Streams.Info(pub.id); ok && info.Online {
				pub.live.Store(true)
				live = true
			}
		}
	}
	if live {
		r.wakeAll()
	}
	for _, p := range r.snapshot() {
		p.chooseLayers()
	}
}

// streamLive marks a publication live when its stream comes online.
func (r *Room) streamLive(id media.StreamID) {
	for _, pub := range r.publications() {
		if pub.id == id && !pub.live.Swap(true) {
			r.wakeAll()
		}
	}
}

func kindName(video bool) string {
	if video {
		return "video"
	}
	return "audio"
}
