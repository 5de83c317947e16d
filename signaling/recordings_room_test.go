package signaling

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"pingan/internal/auth"
	"pingan/internal/store/bolt"
	"pingan/media"
	"pingan/media/record"
	"pingan/media/room"
)

// TestRecordingsRoom: a room with one WHIP publisher is recorded as one
// part per stream; the parts carry the room's case (filed through
// OnFinished), play in ffprobe, and the room's end stops a recording.
func TestRecordingsRoom(t *testing.T) {
	e := newRoomsEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.DiscardHandler)
	db, err := bolt.Open(filepath.Join(t.TempDir(), "rec.db"))
	roomMust(t, err)
	rc, err := record.New(record.Config{Dir: t.TempDir(), FragmentDuration: 500 * time.Millisecond, Logger: quiet})
	roomMust(t, err)
	var mu sync.Mutex
	var finished []RecordingMeta
	store := NewRecordingStore(db)
	api := &RecordingsAPI{Streams: e.hub, Recorder: rc, Store: store, Context: ctx, Logger: quiet,
		Access:           StreamAccessFunc(func(p auth.Principal, id media.StreamID) bool { return p.Room == "" }),
		SubscribeTimeout: 5 * time.Second, Rooms: RoomsForRecording(e.rooms), RoomPoll: 200 * time.Millisecond,
		OnFinished: func(m RecordingMeta) { mu.Lock(); finished = append(finished, m); mu.Unlock() }}
	rt := NewRouter(roomsAuth{svc: e.svc}, 1<<20)
	api.Routes(rt)
	srv := httptest.NewServer(rt)
	t.Cleanup(func() { srv.Close(); api.Close(); rc.Close(); cancel(); _ = db.Close() })
	call := func(method, path, token string, body, out any) int {
		t.Helper()
		old := e.srv.URL
		e.srv.URL = srv.URL
		defer func() { e.srv.URL = old }()
		return e.call(t, method, path, token, body, out)
	}

	const caseID = "14010520240601000001"
	var r room.Info
	if code := e.call(t, "POST", "/api/v1/rooms", "leader", map[string]string{"kind": "meeting", "name": "M", "case": caseID}, &r); code != 201 {
		t.Fatalf("create room: %d", code)
	}
	e.whipIntoRoom(t, r.ID, "obs")
	var stream media.StreamID
	roomWait(t, 10*time.Second, "the WHIP participant's stream", func() bool {
		in := e.rooms.List()
		if len(in) != 1 || len(in[0].Participants) != 1 || len(in[0].Participants[0].Streams) != 1 {
			return false
		}
		stream = in[0].Participants[0].Streams[0]
		si, ok := e.hub.Info(stream)
		return ok && si.Online
	})

	// Only hosts (and operators) may record a room.
	if code := call("POST", "/api/v1/recordings", "leader2", map[string]any{"room": r.ID}, nil); code != http.StatusForbidden {
		t.Errorf("record by a non-host: %d", code)
	}
	if code := call("POST", "/api/v1/recordings", "leader", map[string]any{"room": "nope"}, nil); code != http.StatusNotFound {
		t.Errorf("record an unknown room: %d", code)
	}
	var rec recordingJSON
	if code := call("POST", "/api/v1/recordings", "leader", map[string]any{"room": r.ID}, &rec); code != http.StatusCreated {
		t.Fatalf("record room: %d", code)
	}
	if rec.Room != string(r.ID) || rec.Case != caseID || len(rec.Streams) != 1 || rec.Streams[0] != stream || len(rec.Parts) != 1 || rec.File != "" {
		t.Fatalf("room recording = %+v", rec)
	}
	if code := call("POST", "/api/v1/recordings", "op", map[string]any{"room": r.ID}, nil); code != http.StatusConflict {
		t.Errorf("second recording of the room: %d", code)
	}
	time.Sleep(2 * time.Second)
	if code := call("DELETE", "/api/v1/recordings/"+rec.ID, "leader", nil, nil); code != http.StatusNoContent {
		t.Fatalf("stop: %d", code)
	}
	var got recordingJSON
	if code := call("GET", "/api/v1/recordings/"+rec.ID, "leader", nil, &got); code != 200 {
		t.Fatalf("get: %d", code)
	}
	if got.State != RecordingDone || len(got.Parts) != 1 || got.Parts[0].State != RecordingDone || got.Parts[0].Size == 0 ||
		got.Parts[0].Stream != stream || got.Parts[0].Room != string(r.ID) || got.Size != got.Parts[0].Size {
		t.Fatalf("stopped room recording = %+v", got)
	}
	part := got.Parts[0]
	if code := call("GET", "/api/v1/recordings/"+rec.ID+"/file", "leader", nil, nil); code != http.StatusNotFound {
		t.Errorf("room recording's own file: %d", code)
	}
	req, _ := http.NewRequest("GET", srv.URL+part.File, nil)
	req.Header.Set("Authorization", "Bearer leader")
	res, err := http.DefaultClient.Do(req)
	roomMust(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || int64(len(body)) != part.Size {
		t.Fatalf("part file: %d, %d bytes", res.StatusCode, len(body))
	}
	pm, err := store.Get(t.Context(), part.ID)
	roomMust(t, err)
	out, err := exec.Command("/usr/bin/ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name",
		"-of", "json", pm.Path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	var probe struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &probe); err != nil || len(probe.Streams) == 0 {
		t.Fatalf("ffprobe output: %s", out)
	}
	mu.Lock()
	filed := append([]RecordingMeta(nil), finished...)
	mu.Unlock()
	if len(filed) != 1 || filed[0].ID != part.ID || filed[0].Case != caseID || filed[0].Room != string(r.ID) {
		t.Fatalf("OnFinished got %+v, want the part with the room's case", filed)
	}

	// A second recording stops when the room ends.
	var rec2 recordingJSON
	if code := call("POST", "/api/v1/recordings", "op", map[string]any{"room": r.ID}, &rec2); code != http.StatusCreated {
		t.Fatalf("record room again: %d", code)
	}
	time.Sleep(time.Second)
	if code := e.call(t, "DELETE", "/api/v1/rooms/"+string(r.ID), "leader", nil, nil); code/100 != 2 {
		t.Fatalf("end room: %d", code)
	}
	roomWait(t, 10*time.Second, "the room recording to end with the room", func() bool {
		var g recordingJSON
		call("GET", "/api/v1/recordings/"+rec2.ID, "op", nil, &g)
		return g.State == RecordingDone && len(g.Parts) == 1 && g.Parts[0].State != RecordingRunning
	})
	if code := call("POST", "/api/v1/recordings", "leader", map[string]any{"room": r.ID}, nil); code != http.StatusGone {
		t.Errorf("record an ended room: %d", code)
	}
}
