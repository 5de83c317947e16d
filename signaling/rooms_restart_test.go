package signaling

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pingan/internal/store"
	boltstore "pingan/internal/store/bolt"
	redisstore "pingan/internal/store/redis"
	"pingan/media/room"
)

// attendanceRows fetches a room's attendance.csv (header dropped).
func (e *roomsEnv) attendanceRows(t *testing.T, id room.ID, token string) [][]string {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/rooms/"+string(id)+"/attendance.csv", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	roomMust(t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("attendance.csv: %d %s", res.StatusCode, body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	roomMust(t, err)
	return rows[1:]
}

func rowNames(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[1])
	}
	return out
}

// TestRoomsSurviveRestart: rooms, join links and attendance live in the
// store (a real bbolt file). After a restart (a new Manager on the same
// file) the open room is listed, the guest's invite still joins it until
// it expires, attendance.csv keeps the rows from before, and the ended
// room stays listable but cannot be joined.
func TestRoomsSurviveRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pingan.db")
	clock := &roomClock{t: time.Now()}
	e := startRoomsEnv(t, db, clock)
	t.Cleanup(e.stop)

	var open, done room.Info
	if code := e.call(t, "POST", "/api/v1/rooms", "leader", map[string]any{"kind": "meeting", "name": "调解 #7", "case": "C-7",
		"settings": map[string]any{"max_members": 3}}, &open); code != 201 {
		t.Fatalf("create: %d", code)
	}
	e.call(t, "POST", "/api/v1/rooms", "leader", map[string]any{"kind": "class", "name": "training"}, &done)
	var inv struct{ Token string }
	if code := e.call(t, "POST", "/api/v1/rooms/"+string(open.ID)+"/invites", "leader", map[string]any{"name": "张三", "ttl": "10m"}, &inv); code != 201 {
		t.Fatalf("invite: %d", code)
	}
	host := e.joinRoom(t, "host join", "leader", open.ID)
	e.joinRoom(t, "guest join", inv.Token, open.ID)
	if code := e.call(t, "DELETE", "/api/v1/rooms/"+string(done.ID), "leader", nil, nil); code != 204 {
		t.Fatalf("end: %d", code)
	}
	if rows := e.attendanceRows(t, open.ID, "leader"); len(rows) != 2 || rows[0][5] != "" {
		t.Fatalf("attendance before the restart: %v", rows)
	}

	e.stop() // the hub stops with both members still in the room
	clock.Advance(time.Minute)
	e = startRoomsEnv(t, db, clock)
	t.Cleanup(e.stop)

	var list struct{ Rooms []room.Info }
	if code := e.call(t, "GET", "/api/v1/rooms", "leader", nil, &list); code != 200 || len(list.Rooms) != 1 || list.Rooms[0].ID != open.ID {
		t.Fatalf("open rooms after the restart: %d %+v", code, list.Rooms)
	}
	got := list.Rooms[0]
	if got.Name != "调解 #7" || got.Case != "C-7" || got.Host != "leader1" || got.Region != "14" ||
		got.Settings.MaxMembers != 3 || got.Ended != nil || !got.Created.Equal(open.Created) || len(got.Participants) != 0 {
		t.Errorf("restored room %+v, created %+v", got, open)
	}
	list.Rooms = nil
	if code := e.call(t, "GET", "/api/v1/rooms?state=ended", "leader", nil, &list); code != 200 || len(list.Rooms) != 1 ||
		list.Rooms[0].ID != done.ID || list.Rooms[0].Ended == nil {
		t.Fatalf("ended rooms after the restart: %d %+v", code, list.Rooms)
	}
	if code := e.call(t, "GET", "/api/v1/rooms?state=all", "leader", nil, &list); code != 200 || len(list.Rooms) != 2 {
		t.Errorf("all rooms: %d %d", code, len(list.Rooms))
	}
	if code := e.call(t, "GET", "/api/v1/rooms?state=gone", "leader", nil, nil); code != 400 {
		t.Errorf("bad state: %d", code)
	}
	var ended room.Info
	if code := e.call(t, "GET", "/api/v1/rooms/"+string(done.ID), "leader", nil, &ended); code != 200 || ended.Ended == nil {
		t.Errorf("ended room: %d %+v", code, ended)
	}
	if code := e.call(t, "POST", "/api/v1/rooms/"+string(done.ID)+"/invites", "leader", map[string]any{"name": "late"}, nil); code != 410 {
		t.Errorf("invite to the ended room: %d, want 410", code)
	}
	host, _ = e.dialWS(t, "leader")
	if m := host.request("room.join", map[string]any{"room": done.ID}); m["type"] != "error" || m["error"].(map[string]any)["code"] != "ended" {
		t.Errorf("joined the ended room: %v", m)
	}

	// The invite from before the restart joins again, as a new participant.
	e.joinRoom(t, "guest rejoin with the join token after the restart", inv.Token, open.ID)
	host.join("host rejoin", open.ID)
	rows := e.attendanceRows(t, open.ID, "leader")
	if names := rowNames(rows); strings.Join(names, ",") != "leader1,张三,张三,leader1" {
		t.Fatalf("attendance after the restart: %v", rows)
	}
	for i, r := range rows[:2] {
		if r[5] == "" {
			t.Errorf("row %d from before the restart has no leave time: %v", i, r)
		}
	}
	if rows[0][0] == rows[3][0] || rows[1][0] == rows[2][0] {
		t.Errorf("rejoined participants reuse ids: %v", rows)
	}
	// The room's own member cap survived the restart.
	e.joinRoom(t, "third member", "op", open.ID)
	fourth, _ := e.dialWS(t, "leader2")
	if m := fourth.request("room.join", map[string]any{"room": open.ID}); m["type"] != "error" || m["error"].(map[string]any)["code"] != "full" {
		t.Errorf("fourth member of a 3-member room: %v", m)
	}

	clock.Advance(10 * time.Minute)
	if c, code := e.dialWS(t, inv.Token); c != nil || code != 401 {
		t.Errorf("expired join token after the restart: ws %d", code)
	}
}

// TestRoomStoreRedis runs the room store against Redis (PINGAN_TEST_REDIS):
// save, restore open rooms with attendance in join order, end, list ended.
func TestRoomStoreRedis(t *testing.T) {
	url := os.Getenv("PINGAN_TEST_REDIS")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but PINGAN_TEST_REDIS is not set")
		}
		t.Skip("PINGAN_TEST_REDIS not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := redisstore.Open(ctx, url, 2*time.Second)
	roomMust(t, err)
	defer st.Close()
	testRoomStore(t, ctx, st)
}

// TestRoomStoreBolt runs the same checks on a bbolt file.
func TestRoomStoreBolt(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "pingan.db"))
	roomMust(t, err)
	defer st.Close()
	testRoomStore(t, t.Context(), st)
}

// testRoomStore is the room store's conformance check on st.
func testRoomStore(t *testing.T, ctx context.Context, st store.Store) {
	rs := NewRoomStore(st)
	suffix := time.Now().Format("150405.000000")
	id := room.ID("t" + strings.ReplaceAll(suffix, ".", ""))
	created := time.Now().UTC().Truncate(time.Millisecond)
	rec := room.Record{ID: id, Kind: room.KindClass, Name: "省级培训", Host: "trainer", Region: "14", Created: created,
		Settings: room.Settings{MaxMembers: 500}}
	t0 := created.Add(time.Second)
	rows := []room.Row{
		{Room: id, Attendance: room.Attendance{Participant: "bbbb", Name: "second", User: "u2", Role: room.RoleViewer, Joined: t0.Add(time.Second)}},
		{Room: id, Attendance: room.Attendance{Participant: "aaaa", Name: "first", User: "u1", Role: room.RoleHost, Joined: t0}},
	}
	roomMust(t, rs.Save(ctx, room.Writes{Rooms: []room.Record{rec}, Attendance: rows}))
	rows[1].Left = t0.Add(time.Minute)
	roomMust(t, rs.Save(ctx, room.Writes{Attendance: rows[1:]}))
	open, err := rs.Open(ctx)
	roomMust(t, err)
	var found *room.Saved
	for i := range open {
		if open[i].ID == id {
			found = &open[i]
		}
	}
	if found == nil || found.Name != "省级培训" || found.Settings.MaxMembers != 500 || len(found.Attendance) != 2 ||
		found.Attendance[0].Name != "first" || !found.Attendance[0].Left.Equal(rows[1].Left) || !found.Attendance[1].Left.IsZero() {
		t.Fatalf("open rooms: %+v", found)
	}
	ended := created.Add(time.Hour)
	rec.Ended = &ended
	rec.Banned = []string{"u2"}
	roomMust(t, rs.Save(ctx, room.Writes{Rooms: []room.Record{rec}}))
	open, err = rs.Open(ctx)
	roomMust(t, err)
	for _, o := range open {
		if o.ID == id {
			t.Errorf("ended room still listed open")
		}
	}
	list, err := rs.Ended(ctx, 1000)
	roomMust(t, err)
	ok := false
	for _, r := range list {
		if r.ID == id && r.Ended != nil && r.Ended.Equal(ended) && len(r.Banned) == 1 {
			ok = true
		}
	}
	if !ok {
		t.Errorf("ended room not listed: %+v", list)
	}
	saved, err := rs.Load(ctx, id)
	if err != nil || len(saved.Attendance) != 2 || saved.Ended == nil {
		t.Errorf("load: %+v %v", saved, err)
	}
	if _, err := rs.Load(ctx, "nope"); err == nil {
		t.Error("load of an unknown room succeeded")
	}
	if _, err := rs.Load(ctx, "../x"); err == nil {
		t.Error("load of a bad id succeeded")
	}
}

// TestRoomsRestoreAfterCrash: a room saved with a member still present
// (the hub died without saving the leave) comes back with that row closed
// at the restore time, and the row is saved so.
func TestRoomsRestoreAfterCrash(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pingan.db")
	st, err := boltstore.Open(db)
	roomMust(t, err)
	joined := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	rec := room.Record{ID: "c0ffee0001", Kind: room.KindMeeting, Name: "crash", Host: "leader1", Created: joined}
	roomMust(t, NewRoomStore(st).Save(t.Context(), room.Writes{Rooms: []room.Record{rec},
		Attendance: []room.Row{{Room: rec.ID, Attendance: room.Attendance{Participant: "p1", Name: "甲", User: "u1", Role: room.RoleParticipant, Joined: joined}}}}))
	roomMust(t, st.Close())
	before := time.Now().UTC()
	e := startRoomsEnv(t, db, &roomClock{t: time.Now()})
	t.Cleanup(e.stop)
	rows := e.attendanceRows(t, rec.ID, "leader")
	if len(rows) != 1 || rows[0][5] == "" {
		t.Fatalf("rows %v", rows)
	}
	left, err := time.Parse(time.RFC3339, rows[0][5])
	if err != nil || left.Before(before.Truncate(time.Second)) {
		t.Errorf("left %q, want the restore time (≥ %s)", rows[0][5], before)
	}
	roomMust(t, e.rooms.Flush(t.Context()))
	e.stop()
	st, err = boltstore.Open(db)
	roomMust(t, err)
	defer st.Close()
	saved, err := NewRoomStore(st).Load(t.Context(), rec.ID)
	if err != nil || len(saved.Attendance) != 1 || saved.Attendance[0].Left.IsZero() {
		t.Errorf("saved %+v %v", saved, err)
	}
}
