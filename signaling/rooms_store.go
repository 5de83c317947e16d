package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"pingan/internal/store"
	"pingan/media/room"
)

// Store layout of rooms (media/room.Store on the hub's store).
const (
	roomKeyPrefix   = "rooms/"      // record rooms/{id}: room.Record as JSON
	roomRowInfix    = "/att/"       // record rooms/{id}/att/{participant}: room.Attendance as JSON
	roomOpenIndex   = "rooms:open"  // index: member room id, score created time in unix ms
	roomEndedIndex  = "rooms:ended" // index: member room id, score ended time in unix ms
	roomScanBatch   = 500           // records per Scan
	roomOpenMaxLoad = 10_000        // open rooms restored at most
)

// RoomStore keeps rooms and their attendance in the hub's store, so they
// survive a restart (room.Config.Store).
type RoomStore struct {
	st store.Store
}

// NewRoomStore keeps rooms in st.
func NewRoomStore(st store.Store) *RoomStore { return &RoomStore{st: st} }

var _ room.Store = (*RoomStore)(nil)

func roomKey(id room.ID) string { return roomKeyPrefix + string(id) }

func roomRowKey(id room.ID, p room.ParticipantID) string {
	return roomKeyPrefix + string(id) + roomRowInfix + string(p)
}

// Save writes rooms (moving them between the open and ended indexes) and
// attendance rows in one atomic batch.
func (s *RoomStore) Save(ctx context.Context, w room.Writes) error {
	b := new(store.Batch)
	for _, rec := range w.Rooms {
		v, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("rooms: encode %s: %w", rec.ID, err)
		}
		b.Put(roomKey(rec.ID), v, store.AnyVersion)
		if rec.Ended == nil {
			b.IndexAdd(roomOpenIndex, string(rec.ID), float64(rec.Created.UnixMilli()))
		} else {
			b.IndexRemove(roomOpenIndex, string(rec.ID))
			b.IndexAdd(roomEndedIndex, string(rec.ID), float64(rec.Ended.UnixMilli()))
		}
	}
	for _, row := range w.Attendance {
		v, err := json.Marshal(row.Attendance)
		if err != nil {
			return fmt.Errorf("rooms: encode attendance %s/%s: %w", row.Room, row.Participant, err)
		}
		b.Put(roomRowKey(row.Room, row.Participant), v, store.AnyVersion)
	}
	if len(b.Ops) == 0 {
		return nil
	}
	if _, err := s.st.Apply(ctx, b); err != nil {
		return fmt.Errorf("rooms: save: %w", err)
	}
	return nil
}

// Open lists the open rooms with their attendance, oldest first.
func (s *RoomStore) Open(ctx context.Context) ([]room.Saved, error) {
	return loadIndexed(ctx, s, roomOpenIndex, store.Range{Min: math.Inf(-1), Max: math.Inf(1), Limit: roomOpenMaxLoad}, "open", s.Load)
}

// loadIndexed loads, with load, the rooms an index lists in rng, in index
// order, passing over rooms gone since; what names the list in errors.
func loadIndexed[T any](ctx context.Context, s *RoomStore, index string, rng store.Range, what string,
	load func(context.Context, room.ID) (T, error)) ([]T, error) {
	entries, err := s.st.IndexRange(ctx, index, rng)
	if err != nil {
		return nil, fmt.Errorf("rooms: list %s: %w", what, err)
	}
	out := make([]T, 0, len(entries))
	for _, e := range entries {
		v, err := load(ctx, room.ID(e.Member))
		if errors.Is(err, room.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Load returns one room with its attendance in join order.
func (s *RoomStore) Load(ctx context.Context, id room.ID) (room.Saved, error) {
	rec, err := s.record(ctx, id)
	if err != nil {
		return room.Saved{}, err
	}
	saved := room.Saved{Record: rec}
	prefix := roomKeyPrefix + string(id) + roomRowInfix
	after := ""
	for {
		recs, err := s.st.Scan(ctx, prefix, after, roomScanBatch)
		if err != nil {
			return room.Saved{}, fmt.Errorf("rooms: attendance of %s: %w", id, err)
		}
		for _, r := range recs {
			var a room.Attendance
			if err := json.Unmarshal(r.Value, &a); err != nil {
				return room.Saved{}, fmt.Errorf("rooms: decode %s: %w", r.Key, err)
			}
			saved.Attendance = append(saved.Attendance, a)
		}
		if len(recs) < roomScanBatch {
			break
		}
		after = recs[len(recs)-1].Key
	}
	slices.SortStableFunc(saved.Attendance, func(a, b room.Attendance) int { return a.Joined.Compare(b.Joined) })
	return saved, nil
}

func (s *RoomStore) record(ctx context.Context, id room.ID) (room.Record, error) {
	if !validRoomID(id) {
		return room.Record{}, fmt.Errorf("rooms: %q: %w", id, room.ErrNotFound)
	}
	r, err := s.st.Get(ctx, roomKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return room.Record{}, fmt.Errorf("rooms: %s: %w", id, room.ErrNotFound)
	}
	if err != nil {
		return room.Record{}, fmt.Errorf("rooms: get %s: %w", id, err)
	}
	var rec room.Record
	if err := json.Unmarshal(r.Value, &rec); err != nil {
		return room.Record{}, fmt.Errorf("rooms: decode %s: %w", id, err)
	}
	return rec, nil
}

// Ended lists up to limit ended rooms, the last ended first.
func (s *RoomStore) Ended(ctx context.Context, limit int) ([]room.Record, error) {
	return loadIndexed(ctx, s, roomEndedIndex, store.Range{Min: math.Inf(-1), Max: math.Inf(1), Limit: limit, Rev: true}, "ended", s.record)
}

// validRoomID accepts the ids rooms are given (lower-case hex) and little
// else, so a path value never reaches into other keys.
func validRoomID(id room.ID) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
