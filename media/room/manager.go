package room

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"pingan/media"
)

// Manager holds the live rooms (and the last ended ones, for attendance).
type Manager struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.RWMutex
	rooms map[ID]*Room
	ended []*Room // oldest first, at most KeepEnded

	persist  *persister // nil without a Store
	stopSave context.CancelFunc
	saveDone chan struct{}
	saveOnce sync.Once
}

// NewManager validates cfg; Run starts the rooms' timers.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Streams == nil || cfg.Engine == nil {
		return nil, fmt.Errorf("%w: rooms need a media hub and a WebRTC engine", ErrInvalid)
	}
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, rooms: map[ID]*Room{}, saveDone: make(chan struct{})}
	if cfg.Store != nil {
		m.persist = newPersister(cfg.Store, cfg.Logger)
	}
	return m, nil
}

// Run drives active-speaker detection, simulcast layer choice and the
// liveness of new publications until ctx ends; then it ends every room and
// returns once their goroutines have exited.
func (m *Manager) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, m.cancel)
	defer stop()
	if m.persist != nil {
		m.mu.Lock()
		if m.ctx.Err() == nil && m.stopSave == nil {
			sctx, cancel := context.WithCancel(context.Background())
			m.stopSave = cancel
			go func() { defer close(m.saveDone); m.persist.run(sctx) }()
		}
		m.mu.Unlock()
	}
	speak := time.NewTicker(m.cfg.SpeakerInterval)
	layers := time.NewTicker(m.cfg.LayerInterval)
	defer speak.Stop()
	defer layers.Stop()
	for {
		select {
		case <-m.ctx.Done():
			m.shutdown()
			return nil
		case <-speak.C:
			for _, r := range m.active() {
				r.detectSpeaker()
			}
		case <-layers.C:
			for _, r := range m.active() {
				r.tick()
			}
		}
	}
}

// Close ends every room and waits for their goroutines.
func (m *Manager) Close() {
	m.cancel()
	m.shutdown()
}

// shutdown ends every room (without a Store) or disconnects everyone from
// it (with one: the rooms stay open for the next start), then saves what
// is pending.
func (m *Manager) shutdown() {
	for _, r := range m.active() {
		if m.persist != nil {
			r.suspend("the hub is stopping")
		} else {
			r.End("the hub is stopping")
		}
	}
	m.wg.Wait()
	if m.persist == nil {
		return
	}
	m.saveOnce.Do(func() {
		m.mu.Lock()
		stop := m.stopSave
		m.mu.Unlock()
		if stop == nil { // Run never started the saver
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := m.persist.flush(ctx); err != nil {
				m.log.Error("rooms: attendance not saved at shutdown", "err", err)
			}
			close(m.saveDone)
			return
		}
		stop()
	})
	<-m.saveDone
}

func (m *Manager) active() []*Room {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		out = append(out, r)
	}
	return out
}

// CreateOptions describe a new room.
type CreateOptions struct {
	Kind     Kind
	Name     string
	Case     string // linked case code, if any
	Host     string // the creating user
	Region   string // the creator's region code
	Settings Settings
}

// Create opens a room.
func (m *Manager) Create(o CreateOptions) (*Room, error) {
	if !o.Kind.Valid() {
		return nil, fmt.Errorf("%w: kind must be meeting or class", ErrInvalid)
	}
	o.Name = strings.TrimSpace(o.Name)
	if o.Name == "" || len(o.Name) > 200 {
		return nil, fmt.Errorf("%w: name must be 1–200 bytes", ErrInvalid)
	}
	if m.ctx.Err() != nil {
		return nil, ErrEnded
	}
	if o.Settings.MaxMembers < 0 {
		return nil, fmt.Errorf("%w: max_members must not be negative", ErrInvalid)
	}
	r := newRoom(m, ID(randomID(5)), o)
	if m.cfg.Store != nil {
		ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
		err := m.cfg.Store.Save(ctx, Writes{Rooms: []Record{r.record()}})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%w: save room: %v", ErrUnavailable, err)
		}
	}
	m.mu.Lock()
	m.rooms[r.id] = r
	m.mu.Unlock()
	r.log.Info("room created", "kind", o.Kind, "name", o.Name, "host", o.Host, "case", o.Case)
	return r, nil
}

// Get finds an open room, or an ended one (recently ended from memory,
// older ones from the Store).
func (m *Manager) Get(id ID) (*Room, bool) {
	if r, ok := m.cached(id); ok {
		return r, true
	}
	if m.cfg.Store == nil || id == "" {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(m.ctx, 3*time.Second)
	defer cancel()
	saved, err := m.cfg.Store.Load(ctx, id)
	if err != nil || saved.Ended == nil {
		// An open room missing from memory belongs to no one here.
		return nil, false
	}
	r := restoredRoom(m, saved)
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.cachedLocked(id); ok {
		return c, true
	}
	m.keepEndedLocked(r)
	return r, true
}

func (m *Manager) cached(id ID) (*Room, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cachedLocked(id)
}

func (m *Manager) cachedLocked(id ID) (*Room, bool) {
	if r, ok := m.rooms[id]; ok {
		return r, true
	}
	for _, r := range m.ended {
		if r.id == id {
			return r, true
		}
	}
	return nil, false
}

// List describes the live rooms, newest first.
func (m *Manager) List() []Info {
	rooms := m.active()
	out := make([]Info, 0, len(rooms))
	for _, r := range rooms {
		out = append(out, r.Info())
	}
	slices.SortFunc(out, func(a, b Info) int { return cmp.Compare(b.Created.UnixNano(), a.Created.UnixNano()) })
	return out
}

// ListEnded describes up to limit ended rooms, the last ended first (from
// the Store when there is one).
func (m *Manager) ListEnded(limit int) ([]Info, error) {
	if m.cfg.Store == nil {
		m.mu.RLock()
		out := make([]Info, 0, len(m.ended))
		for i := len(m.ended) - 1; i >= 0 && len(out) < limit; i-- {
			out = append(out, m.ended[i].Info())
		}
		m.mu.RUnlock()
		return out, nil
	}
	ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
	defer cancel()
	recs, err := m.cfg.Store.Ended(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	out := make([]Info, 0, len(recs))
	for _, rec := range recs {
		out = append(out, recordInfo(rec))
	}
	return out, nil
}

// Restore brings back the rooms a previous run left open (with a Store):
// they are empty until participants rejoin; join tokens for them work
// again; attendance continues. Rows of participants that were still in a
// room when the hub stopped without saving get the restore time as their
// leave time. Call it once, before serving.
func (m *Manager) Restore(ctx context.Context) (int, error) {
	if m.cfg.Store == nil {
		return 0, nil
	}
	open, err := m.cfg.Store.Open(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: restore rooms: %v", ErrUnavailable, err)
	}
	now := time.Now().UTC()
	n := 0
	for _, saved := range open {
		if saved.Ended != nil || !saved.Kind.Valid() || saved.ID == "" {
			continue
		}
		r := restoredRoom(m, saved)
		closed := r.closeOpenRows(now)
		m.mu.Lock()
		_, dup := m.rooms[r.id]
		if !dup {
			m.rooms[r.id] = r
			n++
		}
		m.mu.Unlock()
		if dup {
			continue
		}
		for _, a := range closed {
			m.persist.row(r.id, a)
		}
		for _, c := range saved.Cameras {
			if _, err := r.AddCamera(media.StreamID(c.Stream), c.Name); err != nil {
				r.log.Warn("camera not restored", "stream", c.Stream, "err", err)
			}
		}
		r.log.Info("room restored", "kind", r.kind, "name", r.name, "attendance", len(r.attendance), "closed_rows", len(closed), "cameras", len(saved.Cameras))
	}
	return n, nil
}

// Flush waits until every pending room and attendance write is saved
// (tests; a running Manager saves on its own).
func (m *Manager) Flush(ctx context.Context) error {
	if m.persist == nil {
		return nil
	}
	m.mu.RLock()
	running := m.stopSave != nil
	m.mu.RUnlock()
	if !running {
		return m.persist.flush(ctx)
	}
	idle := m.persist.idleCh()
	m.persist.wake()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// roomEnded moves r to the ended list.
func (m *Manager) roomEnded(r *Room) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms[r.id] != r {
		return
	}
	delete(m.rooms, r.id)
	m.keepEndedLocked(r)
}

func (m *Manager) keepEndedLocked(r *Room) {
	m.ended = append(m.ended, r)
	if len(m.ended) > m.cfg.KeepEnded {
		m.ended = slices.Delete(m.ended, 0, len(m.ended)-m.cfg.KeepEnded)
	}
}

// StreamRoom tells which room a "room/{id}/…" stream belongs to.
func StreamRoom(id media.StreamID) (ID, bool) {
	rest, ok := strings.CutPrefix(string(id), "room/")
	if !ok {
		return "", false
	}
	room, _, ok := strings.Cut(rest, "/")
	return ID(room), ok && room != ""
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
