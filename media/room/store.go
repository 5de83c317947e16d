package room

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Store keeps rooms across hub restarts: one record per room (open or
// ended) and one attendance row per participant. signaling implements it
// on the hub's internal/store (bbolt or Redis); media/room does not import
// the store. Writes are whole values (last write wins), so repeating one is
// harmless.
type Store interface {
	// Save writes room records and attendance rows, all or nothing.
	Save(ctx context.Context, w Writes) error
	// Open lists the rooms not yet ended, with their attendance.
	Open(ctx context.Context) ([]Saved, error)
	// Load returns one room with its attendance, or an error wrapping
	// ErrNotFound.
	Load(ctx context.Context, id ID) (Saved, error)
	// Ended lists up to limit ended rooms, the last ended first.
	Ended(ctx context.Context, limit int) ([]Record, error)
}

// Record is the durable part of a room: what it is, who made it, and
// whether it ended. Media and participants are not kept.
type Record struct {
	ID       ID         `json:"id"`
	Kind     Kind       `json:"kind"`
	Name     string     `json:"name"`
	Case     string     `json:"case,omitempty"`
	Host     string     `json:"host"` // the user who created it
	Region   string     `json:"region,omitempty"`
	Created  time.Time  `json:"created"`
	Ended    *time.Time `json:"ended,omitempty"`
	Settings Settings   `json:"settings"`
	// Banned are the users a host removed; they may not come back.
	Banned []string `json:"banned,omitempty"`
	// Cameras are the streams hosts added (AddCamera); a restart adds
	// them again.
	Cameras []Camera `json:"cameras,omitempty"`
}

// Camera is a stream added to a room as a pseudo-participant.
type Camera struct {
	Stream string `json:"stream"`
	Name   string `json:"name,omitempty"`
}

// Row is one attendance row of a room.
type Row struct {
	Room ID `json:"room"`
	Attendance
}

// Writes is one Store.Save.
type Writes struct {
	Rooms      []Record
	Attendance []Row
}

// Saved is a room as the store holds it.
type Saved struct {
	Record
	Attendance []Attendance
}

func (w Writes) empty() bool { return len(w.Rooms) == 0 && len(w.Attendance) == 0 }

type rowKey struct {
	room ID
	p    ParticipantID
}

// persister queues room and attendance writes and saves them in batches
// from one goroutine, so a join never waits for a disk sync and a class
// of thousands joining costs a few transactions, not thousands. Newer
// values of a pending key replace older ones; callers queue while holding
// the room's mutex, so a room's values are queued in the order they were
// made (persister.mu is taken after Room.mu, never the other way).
type persister struct {
	st  Store
	log *slog.Logger

	mu    sync.Mutex
	rooms map[ID]Record
	rows  map[rowKey]Row
	kick  chan struct{}
	// idle is closed and replaced whenever the queue drains (tests, Flush).
	idle chan struct{}
}

// maxWrite bounds one Save.
const maxWrite = 1000

func newPersister(st Store, log *slog.Logger) *persister {
	return &persister{st: st, log: log, rooms: map[ID]Record{}, rows: map[rowKey]Row{},
		kick: make(chan struct{}, 1), idle: make(chan struct{})}
}

func (p *persister) room(rec Record) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.rooms[rec.ID] = rec
	p.mu.Unlock()
	p.wake()
}

func (p *persister) row(room ID, a Attendance) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.rows[rowKey{room, a.Participant}] = Row{Room: room, Attendance: a}
	p.mu.Unlock()
	p.wake()
}

func (p *persister) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// take removes up to maxWrite pending writes.
func (p *persister) take() Writes {
	p.mu.Lock()
	defer p.mu.Unlock()
	var w Writes
	for id, rec := range p.rooms {
		w.Rooms = append(w.Rooms, rec)
		delete(p.rooms, id)
	}
	for k, r := range p.rows {
		if len(w.Attendance) >= maxWrite {
			break
		}
		w.Attendance = append(w.Attendance, r)
		delete(p.rows, k)
	}
	if w.empty() {
		close(p.idle)
		p.idle = make(chan struct{})
	}
	return w
}

// putBack requeues a failed write unless a newer value is pending.
func (p *persister) putBack(w Writes) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rec := range w.Rooms {
		if _, ok := p.rooms[rec.ID]; !ok {
			p.rooms[rec.ID] = rec
		}
	}
	for _, r := range w.Attendance {
		if _, ok := p.rows[rowKey{r.Room, r.Participant}]; !ok {
			p.rows[rowKey{r.Room, r.Participant}] = r
		}
	}
}

// run saves queued writes until ctx ends, then tries once more to save
// what is left (the hub stopping: participants' last rows).
func (p *persister) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := p.flush(fctx); err != nil {
				p.log.Error("rooms: attendance not saved at shutdown", "err", err)
			}
			return
		case <-p.kick:
		}
		if err := p.flush(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("rooms: saving to the store failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
				p.wake()
			}
		}
	}
}

// flush saves every pending write.
func (p *persister) flush(ctx context.Context) error {
	for {
		w := p.take()
		if w.empty() {
			return nil
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := p.st.Save(sctx, w)
		cancel()
		if err != nil {
			p.putBack(w)
			return err
		}
	}
}

// idleCh is closed once the queue is empty and saved (or now if so).
func (p *persister) idleCh() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idle
}
