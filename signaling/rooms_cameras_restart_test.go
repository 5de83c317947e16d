package signaling

import (
	"path/filepath"
	"testing"
	"time"

	"pingan/media/room"
)

// TestRoomCamerasSurviveRestart: cameras a host added to a meeting come
// back with the room after a restart; a camera the host removed does not.
func TestRoomCamerasSurviveRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pingan.db")
	clock := &roomClock{t: time.Now()}
	e := startRoomsEnv(t, db, clock)
	t.Cleanup(e.stop)

	var r room.Info
	if code := e.call(t, "POST", "/api/v1/rooms", "leader", map[string]any{"kind": "meeting", "name": "现场调解"}, &r); code != 201 {
		t.Fatalf("create: %d", code)
	}
	host := e.joinRoom(t, "host join", "leader", r.ID)
	var gate, yard room.ParticipantInfo
	if code := e.call(t, "POST", "/api/v1/rooms/"+string(r.ID)+"/cameras", "leader", map[string]any{"stream": "gb/14010500001310000001", "name": "东门"}, &gate); code != 201 {
		t.Fatalf("add camera: %d", code)
	}
	if code := e.call(t, "POST", "/api/v1/rooms/"+string(r.ID)+"/cameras", "leader", map[string]any{"stream": "rtsp/yard", "name": "院内"}, &yard); code != 201 {
		t.Fatalf("add camera: %d", code)
	}
	if m := host.request("room.host.remove", map[string]any{"participant": yard.ID}); m["type"] != "room.ok" {
		t.Fatalf("remove camera: %v", m)
	}

	e.stop()
	e = startRoomsEnv(t, db, clock)
	t.Cleanup(e.stop)

	var got room.Info
	if code := e.call(t, "GET", "/api/v1/rooms/"+string(r.ID), "leader", nil, &got); code != 200 {
		t.Fatalf("get after restart: %d", code)
	}
	var names []string
	for _, p := range got.Participants {
		names = append(names, p.Name)
		if p.Name == "东门" && len(p.Streams) == 0 {
			t.Errorf("restored camera has no stream: %+v", p)
		}
	}
	if len(names) != 1 || names[0] != "东门" {
		t.Fatalf("participants after the restart: %v, want only the camera 东门", names)
	}
}
