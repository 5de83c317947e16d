package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pingan/internal/auth"
	"pingan/internal/sample"
	"pingan/internal/store/bolt"
	"pingan/media"
	"pingan/media/record"
)

// recAuth maps fixed tokens to principals.
type recAuth struct{}

func (recAuth) Authenticate(_ context.Context, tok string) (auth.Principal, error) {
	switch tok {
	case "op":
		return auth.Principal{Username: "op", Role: auth.RoleOperator, Region: "14"}, nil
	case "lead":
		return auth.Principal{Username: "lead", Role: auth.RoleLeader, Region: "14"}, nil
	case "far": // sees no stream of the test
		return auth.Principal{Username: "far", Role: auth.RoleOperator, Region: "1402"}, nil
	case "trainee":
		return auth.Principal{Username: "t", Role: auth.RoleTrainee, Region: "14"}, nil
	}
	return auth.Principal{}, auth.ErrInvalidToken
}

type recEvent struct {
	kind, actor, id string
}

type recEnv struct {
	api   *RecordingsAPI
	store *RecordingStore
	srv   *httptest.Server
	dir   string

	mu       sync.Mutex
	events   []recEvent
	finished []RecordingMeta
}

func newRecEnv(t *testing.T, minFreeMB int64) *recEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.DiscardHandler)
	hub := media.NewHub(media.Config{Logger: quiet})
	hubDone := make(chan struct{})
	go func() { _ = hub.Run(ctx); close(hubDone) }()
	st, err := hub.Publish("demo/1")
	if err != nil {
		t.Fatal(err)
	}
	st.SetTracks(recSampleTracks(t))
	loopDone := make(chan struct{})
	go func() { _ = sample.Loop(ctx, recSink{st}); close(loopDone) }()

	db, err := bolt.Open(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rc, err := record.New(record.Config{Dir: dir, MinFreeMB: minFreeMB, FragmentDuration: 500 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e := &recEnv{store: NewRecordingStore(db), dir: dir}
	access := StreamAccessFunc(func(p auth.Principal, id media.StreamID) bool {
		return p.InScope("14") && !strings.HasPrefix(string(id), "secret/")
	})
	e.api = &RecordingsAPI{Streams: hub, Access: access, Recorder: rc, Store: e.store, Context: ctx,
		SubscribeTimeout: 2 * time.Second, Logger: quiet,
		OnEvent: func(ctx context.Context, kind string, m RecordingMeta) {
			p, _ := PrincipalFrom(ctx)
			e.mu.Lock()
			e.events = append(e.events, recEvent{kind, p.Username, m.ID})
			e.mu.Unlock()
		},
		OnFinished: func(m RecordingMeta) {
			e.mu.Lock()
			e.finished = append(e.finished, m)
			e.mu.Unlock()
		}}
	rt := NewRouter(recAuth{}, 1<<20)
	e.api.Routes(rt)
	e.srv = httptest.NewServer(rt)
	t.Cleanup(func() {
		e.srv.Close()
		e.api.Close()
		rc.Close()
		cancel()
		<-loopDone
		<-hubDone
		_ = db.Close()
	})
	return e
}

func recSampleTracks(t *testing.T) []*media.Track {
	vid, err := sample.Video()
	if err != nil {
		t.Fatal(err)
	}
	var sps, pps []byte
	for _, n := range vid[0].NALUs {
		switch n[0] & 0x1f {
		case 7:
			sps = n
		case 8:
			pps = n
		}
	}
	return []*media.Track{
		{Codec: media.H264, ClockRate: 90000, SPS: sps, PPS: pps, PayloadType: 96},
		{Codec: media.PCMA, ClockRate: 8000, PayloadType: 8},
	}
}

type recSink struct{ s *media.Stream }

func (k recSink) Video(f sample.Frame, pts int64) {
	// Stream.Write may compact NALUs in place: clone the shared sample slice.
	k.s.Write(&media.Unit{Track: 0, PTS: pts, Keyframe: f.Keyframe, NALUs: slices.Clone(f.NALUs)})
}

func (k recSink) Audio(b []byte, pts int64) { k.s.Write(&media.Unit{Track: 1, PTS: pts, Payload: b}) }

func (e *recEnv) do(t *testing.T, method, path, token, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func (e *recEnv) want(t *testing.T, status int, method, path, token, body string) []byte {
	t.Helper()
	resp, b := e.do(t, method, path, token, body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s as %q: %d %s, want %d", method, path, token, resp.StatusCode, b, status)
	}
	return b
}

func decodeRec(t *testing.T, b []byte) recordingJSON {
	t.Helper()
	var r recordingJSON
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return r
}

func TestRecordingsRefused(t *testing.T) {
	e := newRecEnv(t, -1)
	e.want(t, http.StatusForbidden, "POST", "/api/v1/recordings", "trainee", `{"stream":"demo/1"}`)
	e.want(t, http.StatusUnauthorized, "POST", "/api/v1/recordings", "", `{"stream":"demo/1"}`)
	b := e.want(t, http.StatusNotImplemented, "POST", "/api/v1/recordings", "op", `{"room":"r1"}`)
	if !strings.Contains(string(b), "cannot record rooms") {
		t.Errorf("room answer %s", b)
	}
	e.want(t, http.StatusBadRequest, "POST", "/api/v1/recordings", "op", `{"stream":"demo/1","room":"r1"}`)
	e.want(t, http.StatusBadRequest, "POST", "/api/v1/recordings", "op", `{}`)
	e.want(t, http.StatusBadRequest, "POST", "/api/v1/recordings", "op", `{"stream":"demo/1","case":"x1"}`)
	e.want(t, http.StatusNotFound, "POST", "/api/v1/recordings", "op", `{"stream":"secret/1"}`)
	e.want(t, http.StatusNotFound, "POST", "/api/v1/recordings", "far", `{"stream":"demo/1"}`)
	e.want(t, http.StatusNotFound, "POST", "/api/v1/recordings", "op", `{"stream":"nope/1"}`)
	e.want(t, http.StatusNotFound, "GET", "/api/v1/recordings/0123456789abcdef", "op", "")
	e.want(t, http.StatusNotFound, "DELETE", "/api/v1/recordings/0123456789abcdef", "op", "")
}

func TestRecordingsDiskFull(t *testing.T) {
	e := newRecEnv(t, 1<<40) // a floor of 1 EB: no disk has that free
	b := e.want(t, http.StatusInsufficientStorage, "POST", "/api/v1/recordings", "op", `{"stream":"demo/1"}`)
	if !strings.Contains(string(b), "disk_full") {
		t.Errorf("answer %s", b)
	}
}

// TestRecordingsLifecycle records the demo stream for ~3 s through the API,
// stops it, and plays the file back through the file endpoint.
func TestRecordingsLifecycle(t *testing.T) {
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffprobe is required in CI")
		}
		t.Skip("ffprobe not installed")
	}
	e := newRecEnv(t, -1)
	const caseID = "14010520260605000001"
	began := time.Now()
	created := decodeRec(t, e.want(t, http.StatusCreated, "POST", "/api/v1/recordings", "lead",
		`{"stream":"demo/1","case":"`+caseID+`"}`))
	if created.ID == "" || created.State != RecordingRunning || created.Stream != "demo/1" || created.Case != caseID || created.By != "lead" {
		t.Fatalf("created %+v", created)
	}
	path := "/api/v1/recordings/" + created.ID

	time.Sleep(1500 * time.Millisecond)
	live := decodeRec(t, e.want(t, http.StatusOK, "GET", path, "op", ""))
	if live.State != RecordingRunning || live.Duration <= 0 || live.Size <= 0 {
		t.Errorf("while recording: %+v", live)
	}
	e.want(t, http.StatusNotFound, "GET", path, "far", "")
	time.Sleep(1500 * time.Millisecond)
	e.want(t, http.StatusNoContent, "DELETE", path, "op", "")
	wall := time.Since(began)
	e.want(t, http.StatusConflict, "DELETE", path, "op", "")

	done := decodeRec(t, e.want(t, http.StatusOK, "GET", path, "op", ""))
	if done.State != RecordingDone || done.Error != "" || done.End == nil || done.Size <= 0 {
		t.Fatalf("after stop: %+v", done)
	}
	got := time.Duration(done.Duration * float64(time.Second))
	if got < wall-500*time.Millisecond || got > wall+500*time.Millisecond {
		t.Errorf("duration %v after %v of recording", got, wall)
	}

	var list struct{ Recordings []recordingJSON }
	_ = json.Unmarshal(e.want(t, http.StatusOK, "GET", "/api/v1/recordings", "op", ""), &list)
	if len(list.Recordings) != 1 || list.Recordings[0].ID != created.ID {
		t.Errorf("list %+v", list)
	}
	_ = json.Unmarshal(e.want(t, http.StatusOK, "GET", "/api/v1/recordings", "far", ""), &list)
	if len(list.Recordings) != 0 {
		t.Errorf("out-of-scope list %+v", list)
	}

	// The whole file, as a <video src="…?access_token="> would fetch it.
	resp, file := e.do(t, "GET", path+"/file?access_token=op", "", "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "video/mp4" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), `filename=demo_1_`) ||
		resp.Header.Get("Accept-Ranges") != "bytes" || int64(len(file)) != done.Size {
		t.Fatalf("file: %d %v, %d bytes (want %d)", resp.StatusCode, resp.Header, len(file), done.Size)
	}
	resp, part := e.do(t, "GET", path+"/file", "op", "", "Range", "bytes=100-1099")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, file[100:1100]) ||
		resp.Header.Get("Content-Range") != "bytes 100-1099/"+strconv.Itoa(len(file)) {
		t.Errorf("range: %d %v, %d bytes", resp.StatusCode, resp.Header, len(part))
	}
	e.want(t, http.StatusNotFound, "GET", path+"/file", "far", "")

	out := filepath.Join(t.TempDir(), "dl.mp4")
	if err := os.WriteFile(out, file, 0o600); err != nil {
		t.Fatal(err)
	}
	probe, err := exec.Command(ffprobe, "-v", "error", "-show_entries", "format=duration:stream=codec_name",
		"-of", "default=noprint_wrappers=1", out).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, probe)
	}
	if !strings.Contains(string(probe), "codec_name=h264") {
		t.Errorf("ffprobe: %s", probe)
	}
	_, ds, _ := strings.Cut(string(probe), "duration=")
	sec, _ := strconv.ParseFloat(strings.TrimSpace(ds), 64)
	if d := time.Duration(sec * float64(time.Second)); d < wall-500*time.Millisecond || d > wall+500*time.Millisecond {
		t.Errorf("ffprobe duration %v after %v of recording", d, wall)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	kinds := []string{}
	for _, ev := range e.events {
		kinds = append(kinds, ev.kind+"/"+ev.actor)
	}
	for _, k := range []string{"recording.started/lead", "recording.stopped/op", "recording.finished/", "recording.downloaded/op"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("events %v lack %s", kinds, k)
		}
	}
	if len(e.finished) != 1 || e.finished[0].Case != caseID || e.finished[0].State != RecordingDone {
		t.Errorf("OnFinished got %+v", e.finished)
	}
}

// TestRecordingsRecover: a recording left "running" by a crash is marked
// failed at start-up, with the duration of what its file holds.
func TestRecordingsRecover(t *testing.T) {
	e := newRecEnv(t, -1)
	b := e.want(t, http.StatusCreated, "POST", "/api/v1/recordings", "op", `{"stream":"demo/1"}`)
	id := decodeRec(t, b).ID
	time.Sleep(1500 * time.Millisecond)
	e.want(t, http.StatusNoContent, "DELETE", "/api/v1/recordings/"+id, "op", "")
	m, err := e.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	// Pretend the hub died while writing: state still running, file cut mid-fragment.
	m.State, m.Error, m.End = RecordingRunning, "", time.Time{}
	if err := e.store.Update(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(m.Path, m.Size-100); err != nil {
		t.Fatal(err)
	}
	if err := e.api.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := decodeRec(t, e.want(t, http.StatusOK, "GET", "/api/v1/recordings/"+id, "op", ""))
	if r.State != RecordingFailed || !strings.Contains(r.Error, "interrupted") || r.Size >= m.Size-100 || r.Duration <= 0 {
		t.Errorf("recovered %+v (was %d bytes)", r, m.Size)
	}
}
