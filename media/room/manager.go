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
}

// NewManager validates cfg; Run starts the rooms' timers.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Streams == nil || cfg.Engine == nil {
		return nil, fmt.Errorf("%w: rooms need a media hub and a WebRTC engine", ErrInvalid)
	}
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, rooms: map[ID]*Room{}}, nil
}

// Run drives active-speaker detection, simulcast layer choice and the
// liveness of new publications until ctx ends; then it ends every room and
// returns once their goroutines have exited.
func (m *Manager) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, m.cancel)
	defer stop()
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

func (m *Manager) shutdown() {
	for _, r := range m.active() {
		r.End("the hub is stopping")
	}
	m.wg.Wait()
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
	Kind Kind
	Name string
	Case string // linked case code, if any
	Host string // the creating user
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
	r := newRoom(m, ID(randomID(5)), o)
	m.mu.Lock()
	m.rooms[r.id] = r
	m.mu.Unlock()
	r.log.Info("room created", "kind", o.Kind, "name", o.Name, "host", o.Host, "case", o.Case)
	return r, nil
}

// Get finds a live or recently ended room.
func (m *Manager) Get(id ID) (*Room, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
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

// roomEnded moves r to the ended list.
func (m *Manager) roomEnded(r *Room) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms[r.id] != r {
		return
	}
	delete(m.rooms, r.id)
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
