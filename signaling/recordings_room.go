package signaling

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"pingan/dispatch"
	"pingan/internal/auth"
	"pingan/media"
	"pingan/media/room"
)

// Room recordings: POST /api/v1/recordings {"room": id} records every
// stream the room's participants publish — those present at the start and
// those published while it runs — each as an ordinary recording (a
// "part", with Room set and its own file), grouped under one room
// recording (Room set, Stream empty, no file) that lists their ids.
// DELETE on the room recording stops every part; the room's end stops it
// too. Parts carry the room's case (or the request's), so each finished
// part is filed into the case's evidence through OnFinished.

// RecordingRoomState is a room as its recording sees it.
type RecordingRoomState struct {
	Case    dispatch.CaseID  // the linked case; "" if none
	Streams []media.StreamID // the streams its participants publish now
	Ended   bool
}

// RecordingRooms is what room recordings need from the rooms
// (RoomsForRecording adapts a *room.Manager).
type RecordingRooms interface {
	// RoomState describes room id; false if there is no such room.
	RoomState(id string) (RecordingRoomState, bool)
	// CanRecord reports whether p may record room id.
	CanRecord(p auth.Principal, id string) bool
}

// RoomsForRecording adapts the room SFU to RecordingRooms: a room may be
// recorded by its hosts (its creator, host participants, admins) and by
// operators. Simulcast layer streams ("…~{rid}") are left out: the
// publication's own stream is recorded.
func RoomsForRecording(m *room.Manager) RecordingRooms { return roomRecordingSource{m: m} }

type roomRecordingSource struct{ m *room.Manager }

func (s roomRecordingSource) RoomState(id string) (RecordingRoomState, bool) {
	rm, ok := s.m.Get(room.ID(id))
	if !ok {
		return RecordingRoomState{}, false
	}
	in := rm.Info()
	st := RecordingRoomState{Ended: in.Ended != nil}
	if c := dispatch.CaseID(in.Case); c.Valid() {
		st.Case = c
	}
	for _, p := range in.Participants {
		for _, sid := range p.Streams {
			if !strings.Contains(string(sid), "~") {
				st.Streams = append(st.Streams, sid)
			}
		}
	}
	return st, true
}

func (s roomRecordingSource) CanRecord(p auth.Principal, id string) bool {
	rm, ok := s.m.Get(room.ID(id))
	if !ok || p.Room != "" {
		return false
	}
	return canManage(p, rm) || p.Is(auth.RoleOperator)
}

// liveRoomRecording is a room recording this node runs.
type liveRoomRecording struct {
	by       auth.Principal
	stop     chan struct{}
	stopOnce sync.Once
	saved    chan struct{} // closed once the final state is stored

	mu      sync.Mutex
	meta    RecordingMeta
	current map[media.StreamID]*liveRecording // each stream's latest part
}

func (rl *liveRoomRecording) requestStop() { rl.stopOnce.Do(func() { close(rl.stop) }) }

// snapshot is the room recording's metadata now.
func (rl *liveRoomRecording) snapshot() RecordingMeta {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	m := rl.meta
	m.Parts, m.Streams = slices.Clone(m.Parts), slices.Clone(m.Streams)
	if m.State == RecordingRunning {
		m.Duration = time.Since(m.Start)
	}
	return m
}

// startRoom starts recording room id: the room recording and a part per
// stream published now.
func (a *RecordingsAPI) startRoom(ctx context.Context, p auth.Principal, id string, c dispatch.CaseID) (RecordingMeta, error) {
	if a.Rooms == nil {
		return RecordingMeta{}, Errorf(http.StatusNotImplemented, "not_implemented", "this hub cannot record rooms")
	}
	st, ok := a.Rooms.RoomState(id)
	switch {
	case !ok || p.Room != "":
		return RecordingMeta{}, Errorf(http.StatusNotFound, "not_found", "no room %q", id)
	case !a.Rooms.CanRecord(p, id):
		return RecordingMeta{}, Errorf(http.StatusForbidden, "forbidden", "only the room's hosts may record it")
	case st.Ended:
		return RecordingMeta{}, Errorf(http.StatusGone, "ended", "the room has ended")
	}
	if c == "" {
		c = st.Case
	}
	m := RecordingMeta{ID: newRecordingID(), Room: id, Case: c, By: p.Username, Node: a.Node,
		Start: time.Now().UTC(), State: RecordingRunning, Parts: []string{}, Streams: []media.StreamID{}}
	rl := &liveRoomRecording{by: p, stop: make(chan struct{}), saved: make(chan struct{}), meta: m,
		current: map[media.StreamID]*liveRecording{}}
	a.mu.Lock()
	for _, o := range a.rooms {
		if o.meta.Room == id { // meta.Room never changes
			a.mu.Unlock()
			return RecordingMeta{}, Errorf(http.StatusConflict, "already_recording", "room %q is being recorded (%s)", id, o.meta.ID)
		}
	}
	if a.closed {
		a.mu.Unlock()
		return RecordingMeta{}, Errorf(http.StatusServiceUnavailable, "unavailable", "the hub is shutting down")
	}
	if a.rooms == nil {
		a.rooms = make(map[string]*liveRoomRecording)
	}
	a.rooms[m.ID] = rl // reserves the room; Close waits for it from here on
	a.wg.Add(1)
	a.mu.Unlock()
	if err := a.Store.Create(ctx, m); err != nil {
		a.mu.Lock()
		delete(a.rooms, m.ID)
		a.mu.Unlock()
		a.wg.Done()
		return RecordingMeta{}, StoreError(err)
	}
	a.log().Info("room recording started", "recording", m.ID, "room", id, "by", p.Username, "case", c)
	a.syncRoom(rl, st.Streams)
	go a.runRoom(rl)
	return rl.snapshot(), nil
}

// runRoom looks for new streams every RoomPoll until the recording is
// stopped or the room ends, then stops the parts and stores the outcome.
func (a *RecordingsAPI) runRoom(rl *liveRoomRecording) {
	defer a.wg.Done()
	poll := a.RoomPoll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	id := rl.meta.Room
loop:
	for {
		select {
		case <-rl.stop:
			break loop
		case <-a.ctx().Done():
			break loop
		case <-t.C:
		}
		st, ok := a.Rooms.RoomState(id)
		if !ok || st.Ended {
			a.log().Info("room recording ends with the room", "recording", rl.meta.ID, "room", id)
			break loop
		}
		a.syncRoom(rl, st.Streams)
	}
	a.finishRoom(rl)
}

// syncRoom starts a part for each stream that has none running. A stream
// whose part ended gets a new one only once it left the room and came
// back (republished), not while it stays (a part stopped by DELETE).
func (a *RecordingsAPI) syncRoom(rl *liveRoomRecording, streams []media.StreamID) {
	rl.mu.Lock()
	for s, l := range rl.current {
		if !slices.Contains(streams, s) && ended(l) {
			delete(rl.current, s)
		}
	}
	var todo []media.StreamID
	for _, s := range streams {
		if _, ok := rl.current[s]; !ok && !slices.Contains(todo, s) {
			todo = append(todo, s)
		}
	}
	c, room := rl.meta.Case, rl.meta.Room
	rl.mu.Unlock()
	for _, s := range todo {
		select {
		case <-rl.stop:
			return
		default:
		}
		ctx, cancel := context.WithCancel(context.WithoutCancel(a.ctx()))
		go func() { // a stop cuts a slow subscribe short
			select {
			case <-rl.stop:
			case <-ctx.Done():
			}
			cancel()
		}()
		m, err := a.start(ctx, rl.by, s, c, room)
		cancel()
		if err != nil {
			a.log().Debug("room recording: stream not recorded yet", "recording", rl.meta.ID, "stream", s, "err", err)
			continue
		}
		a.mu.Lock()
		l := a.live[m.ID]
		a.mu.Unlock()
		if l == nil { // already finished
			l = &liveRecording{meta: m, saved: make(chan struct{})}
			close(l.saved)
		}
		rl.mu.Lock()
		rl.current[s] = l
		rl.meta.Parts = append(rl.meta.Parts, m.ID)
		if !slices.Contains(rl.meta.Streams, s) {
			rl.meta.Streams = append(rl.meta.Streams, s)
		}
		meta := rl.meta
		rl.mu.Unlock()
		a.event(context.Background(), RecordingEventStarted, m)
		ctxS, cancelS := context.WithTimeout(context.WithoutCancel(a.ctx()), 10*time.Second)
		if err := a.Store.Update(ctxS, meta); err != nil {
			a.log().Error("room recording state not stored", "recording", meta.ID, "err", err)
		}
		cancelS()
	}
}

func ended(l *liveRecording) bool {
	select {
	case <-l.saved:
		return true
	default:
		return false
	}
}

// finishRoom stops the room recording's parts, waits for their final
// states and stores the room recording's.
func (a *RecordingsAPI) finishRoom(rl *liveRoomRecording) {
	rl.mu.Lock()
	parts := make([]*liveRecording, 0, len(rl.current))
	for _, l := range rl.current {
		parts = append(parts, l)
	}
	rl.mu.Unlock()
	for _, l := range parts {
		if l.rec != nil {
			_ = l.rec.Stop()
		}
	}
	for _, l := range parts {
		<-l.saved
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx()), 10*time.Second)
	defer cancel()
	rl.mu.Lock()
	rl.meta.State, rl.meta.End = RecordingDone, time.Now().UTC()
	rl.meta.Duration = rl.meta.End.Sub(rl.meta.Start)
	m := rl.meta
	rl.mu.Unlock()
	m.Size = 0
	for _, id := range m.Parts {
		if pm, err := a.Store.Get(ctx, id); err == nil {
			m.Size += pm.Size
		}
	}
	rl.mu.Lock()
	rl.meta.Size = m.Size
	rl.mu.Unlock()
	if err := a.Store.Update(ctx, m); err != nil {
		a.log().Error("room recording state not stored", "recording", m.ID, "err", err)
	}
	a.mu.Lock()
	delete(a.rooms, m.ID)
	a.mu.Unlock()
	close(rl.saved)
	a.log().Info("room recording finished", "recording", m.ID, "room", m.Room, "parts", len(m.Parts))
	a.event(ctx, RecordingEventFinished, m)
}

// stopRoom answers DELETE on a room recording once every part's final
// state is stored.
func (a *RecordingsAPI) stopRoom(w http.ResponseWriter, r *http.Request, m RecordingMeta) {
	a.mu.Lock()
	rl := a.rooms[m.ID]
	a.mu.Unlock()
	if rl == nil {
		if m.State == RecordingRunning {
			WriteError(w, r, Errorf(http.StatusConflict, "other_node", "the recording runs on node %q", m.Node))
			return
		}
		WriteError(w, r, Errorf(http.StatusConflict, "not_recording", "the recording already ended (%s)", m.State))
		return
	}
	rl.requestStop()
	select {
	case <-rl.saved:
	case <-r.Context().Done():
		return
	}
	a.event(r.Context(), RecordingEventStopped, rl.snapshot())
	w.WriteHeader(http.StatusNoContent)
}

// render is a recording in the API; a room recording lists its parts.
func (a *RecordingsAPI) render(ctx context.Context, m RecordingMeta) recordingJSON {
	out := toRecordingJSON(m)
	if !m.IsRoom() {
		return out
	}
	out.Parts = make([]recordingJSON, 0, len(m.Parts))
	var size int64
	for _, id := range m.Parts {
		a.mu.Lock()
		l := a.live[id]
		a.mu.Unlock()
		var pm RecordingMeta
		if l != nil && l.rec != nil {
			pm = withInfo(l.meta, l.rec.Info())
		} else {
			var err error
			if pm, err = a.Store.Get(ctx, id); err != nil {
				continue
			}
		}
		size += pm.Size
		out.Parts = append(out.Parts, toRecordingJSON(pm))
	}
	out.Size = size
	return out
}
