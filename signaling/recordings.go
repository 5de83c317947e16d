package signaling

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"pingan/dispatch"
	"pingan/internal/auth"
	"pingan/internal/store"
	"pingan/media"
	"pingan/media/record"
)

// Recording events passed to RecordingsAPI.OnEvent.
const (
	RecordingEventStarted    = "recording.started"
	RecordingEventStopped    = "recording.stopped"
	RecordingEventFinished   = "recording.finished" // done or failed: see RecordingMeta.State
	RecordingEventDownloaded = "recording.downloaded"
)

// recordingQueue is a recording reader's queue: deep enough to ride out a
// slow fsync (about 25 s of 25 fps video with audio).
const recordingQueue = 2048

// recordingStreams is what recordings need from the media hub.
type recordingStreams interface {
	Subscribe(ctx context.Context, id media.StreamID, opts media.ReaderOptions) (*media.Reader, error)
}

// recordingRecorder is what recordings need from media/record.
type recordingRecorder interface {
	Start(ctx context.Context, id string, r record.Reader, path string) (*record.Recording, error)
}

// recordingMetaStore keeps recording metadata (RecordingStore).
type recordingMetaStore interface {
	Create(ctx context.Context, m RecordingMeta) error
	Update(ctx context.Context, m RecordingMeta) error
	Get(ctx context.Context, id string) (RecordingMeta, error)
	List(ctx context.Context, before time.Time, limit int, keep func(RecordingMeta) bool) ([]RecordingMeta, error)
	Running(ctx context.Context, node string) ([]RecordingMeta, error)
}

// RecordingsAPI starts, stops, lists and serves recordings of streams.
// Files are written by media/record on this node; metadata lives in Store.
type RecordingsAPI struct {
	Streams  recordingStreams
	Access   StreamAccess
	Recorder recordingRecorder
	Store    recordingMetaStore
	// Context bounds every recording (the server's run context); nil means
	// context.Background(). Close stops them too.
	Context context.Context
	// Node names this node in RecordingMeta (files are served only by the
	// node that wrote them); "" on a single node.
	Node string
	// SubscribeTimeout bounds the wait for a stream's first media (default 10 s).
	SubscribeTimeout time.Duration
	Logger           *slog.Logger
	// OnEvent, when set, is told of every RecordingEvent*, for the audit log.
	// ctx is the request's (PrincipalFrom gives the actor) or, for
	// RecordingEventFinished, a background context.
	OnEvent func(ctx context.Context, kind string, rec RecordingMeta)
	// OnFinished, when set, is called once per recording after its final
	// state is stored (to attach the file to rec.Case's evidence).
	OnFinished func(rec RecordingMeta)
	// Rooms, when set, lets POST {"room": id} record a room: one part per
	// published stream (see recordings_room.go).
	Rooms RecordingRooms
	// RoomPoll is how often a room recording looks for new streams and
	// for the room's end (default 1 s).
	RoomPoll time.Duration

	mu     sync.Mutex
	live   map[string]*liveRecording
	rooms  map[string]*liveRoomRecording
	closed bool
	wg     sync.WaitGroup
}

// liveRecording is a recording this node is writing.
type liveRecording struct {
	rec   *record.Recording
	meta  RecordingMeta
	saved chan struct{} // closed once the final state is stored
}

// Routes registers the recording endpoints.
func (a *RecordingsAPI) Routes(rt *Router) {
	roles := []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader, auth.RoleMediator}
	rt.Handle("POST /api/v1/recordings", a.create, roles...)
	rt.Handle("GET /api/v1/recordings", a.list, roles...)
	rt.Handle("GET /api/v1/recordings/{id}", a.get, roles...)
	rt.Handle("DELETE /api/v1/recordings/{id}", a.stop, roles...)
	rt.Handle("GET /api/v1/recordings/{id}/file", a.file, roles...)
}

func (a *RecordingsAPI) ctx() context.Context {
	if a.Context != nil {
		return a.Context
	}
	return context.Background()
}

func (a *RecordingsAPI) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

func (a *RecordingsAPI) event(ctx context.Context, kind string, m RecordingMeta) {
	if a.OnEvent != nil {
		a.OnEvent(ctx, kind, m)
	}
}

// recordingJSON is a recording in the API.
type recordingJSON struct {
	ID       string          `json:"id"`
	Stream   media.StreamID  `json:"stream,omitempty"`
	Room     string          `json:"room,omitempty"`
	Case     dispatch.CaseID `json:"case,omitempty"`
	By       string          `json:"by"`
	Start    time.Time       `json:"start"`
	End      *time.Time      `json:"end,omitempty"`
	Duration float64         `json:"duration"` // seconds
	Size     int64           `json:"size"`
	State    string          `json:"state"`
	Error    string          `json:"error,omitempty"`
	File     string          `json:"file,omitempty"` // none for a room recording: see Parts
	// Streams and Parts are a room recording's streams and per-stream
	// recordings (each with its own file).
	Streams []media.StreamID `json:"streams,omitempty"`
	Parts   []recordingJSON  `json:"parts,omitempty"`
}

func toRecordingJSON(m RecordingMeta) recordingJSON {
	out := recordingJSON{ID: m.ID, Stream: m.Stream, Room: m.Room, Case: m.Case, By: m.By,
		Start: m.Start.UTC(), Duration: m.Duration.Round(time.Millisecond).Seconds(), Size: m.Size,
		State: m.State, Error: m.Error, File: "/api/v1/recordings/" + m.ID + "/file"}
	if !m.End.IsZero() {
		end := m.End.UTC()
		out.End = &end
	}
	if m.IsRoom() {
		out.File = ""
		out.Streams = m.Streams
		if out.Streams == nil {
			out.Streams = []media.StreamID{}
		}
	}
	return out
}

func (a *RecordingsAPI) create(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	var req struct {
		Stream media.StreamID  `json:"stream"`
		Room   string          `json:"room"`
		Case   dispatch.CaseID `json:"case"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	switch {
	case req.Stream != "" && req.Room != "":
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "give either stream or room, not both"))
		return
	case req.Case != "" && !req.Case.Valid():
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "case %q is not a case code", req.Case))
		return
	case req.Room != "":
		m, err := a.startRoom(r.Context(), p, req.Room, req.Case)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		a.event(r.Context(), RecordingEventStarted, m)
		WriteJSON(w, http.StatusCreated, a.render(r.Context(), m))
		return
	case req.Stream == "":
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "stream is required"))
		return
	case req.Case != "" && !req.Case.Valid():
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "case %q is not a case code", req.Case))
		return
	}
	if a.Access == nil || !a.Access.CanRead(p, req.Stream) {
		WriteError(w, r, Errorf(http.StatusNotFound, "not_found", "no stream named %q", req.Stream))
		return
	}
	m, err := a.start(r.Context(), p, req.Stream, req.Case, "")
	if err != nil {
		WriteError(w, r, err)
		return
	}
	a.event(r.Context(), RecordingEventStarted, m)
	WriteJSON(w, http.StatusCreated, toRecordingJSON(m))
}

// start subscribes to the stream, starts the file and stores the metadata.
// room, when set, names the room recording the part belongs to.
func (a *RecordingsAPI) start(ctx context.Context, p auth.Principal, id media.StreamID, c dispatch.CaseID, room string) (RecordingMeta, error) {
	reader, err := a.subscribe(ctx, id)
	if err != nil {
		return RecordingMeta{}, err
	}
	recID := newRecordingID()
	path := filepath.Join(time.Now().UTC().Format("2006/01/02"), recID+".mp4")
	rec, err := a.Recorder.Start(a.ctx(), recID, reader, path)
	if err != nil {
		reader.Close()
		return RecordingMeta{}, recorderError(id, err)
	}
	info := rec.Info()
	m := RecordingMeta{ID: recID, Stream: id, Room: room, Case: c, By: p.Username, Node: a.Node,
		Path: info.Path, Start: info.Start.UTC(), State: RecordingRunning}
	if err := a.Store.Create(ctx, m); err != nil {
		_ = rec.Stop()
		_ = os.Remove(info.Path)
		return RecordingMeta{}, StoreError(err)
	}
	l := &liveRecording{rec: rec, meta: m, saved: make(chan struct{})}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		_ = rec.Stop()
		_ = a.Store.Update(ctx, withInfo(m, rec.Info()))
		return RecordingMeta{}, Errorf(http.StatusServiceUnavailable, "unavailable", "the hub is shutting down")
	}
	if a.live == nil {
		a.live = make(map[string]*liveRecording)
	}
	a.live[recID] = l
	a.wg.Add(1)
	a.mu.Unlock()
	go a.watch(l)
	a.log().Info("recording started", "recording", recID, "stream", id, "by", p.Username)
	return m, nil
}

func (a *RecordingsAPI) subscribe(ctx context.Context, id media.StreamID) (*media.Reader, error) {
	d := a.SubscribeTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	reader, err := a.Streams.Subscribe(ctx, id, media.ReaderOptions{Queue: recordingQueue})
	switch {
	case err == nil:
		return reader, nil
	case errors.Is(err, media.ErrNotFound):
		return nil, Errorf(http.StatusNotFound, "not_found", "no stream named %q", id)
	case errors.Is(err, media.ErrNotReady), errors.Is(err, context.DeadlineExceeded):
		return nil, Errorf(http.StatusServiceUnavailable, "not_ready", "stream %q has no media yet; retry shortly", id)
	case errors.Is(err, media.ErrClosed):
		return nil, Errorf(http.StatusServiceUnavailable, "unavailable", "the media hub is shutting down")
	}
	return nil, err
}

func recorderError(id media.StreamID, err error) error {
	switch {
	case errors.Is(err, record.ErrDiskFull):
		return Errorf(http.StatusInsufficientStorage, "disk_full", "not enough free disk space to record: %v", err)
	case errors.Is(err, record.ErrNoTracks):
		return Errorf(http.StatusUnprocessableEntity, "unsupported", "stream %q has no track that can be recorded", id)
	case errors.Is(err, record.ErrClosed):
		return Errorf(http.StatusServiceUnavailable, "unavailable", "the recorder is shutting down")
	}
	return err
}

// watch stores a recording's final state once its file is finished.
func (a *RecordingsAPI) watch(l *liveRecording) {
	defer a.wg.Done()
	<-l.rec.Done()
	m := withInfo(l.meta, l.rec.Info())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx()), 10*time.Second)
	defer cancel()
	if err := a.Store.Update(ctx, m); err != nil {
		a.log().Error("recording state not stored", "recording", m.ID, "err", err)
	}
	a.mu.Lock()
	delete(a.live, m.ID)
	a.mu.Unlock()
	close(l.saved)
	a.event(ctx, RecordingEventFinished, m)
	if a.OnFinished != nil {
		a.OnFinished(m)
	}
}

// withInfo folds a recording's progress into its metadata.
func withInfo(m RecordingMeta, info record.Info) RecordingMeta {
	m.Duration, m.Size = info.Duration, info.Size
	switch {
	case info.Running:
		m.State = RecordingRunning
	case info.Err != nil:
		m.State, m.Error = RecordingFailed, info.Err.Error()
	default:
		m.State = RecordingDone
	}
	if !info.Running && m.End.IsZero() {
		m.End = time.Now().UTC()
	}
	return m
}

// lookup finds a recording the caller may see: live progress first, then
// the store. Recordings outside the caller's scope are 404.
func (a *RecordingsAPI) lookup(ctx context.Context, id string) (RecordingMeta, *liveRecording, error) {
	p, _ := PrincipalFrom(ctx)
	a.mu.Lock()
	l := a.live[id]
	rl := a.rooms[id]
	a.mu.Unlock()
	var m RecordingMeta
	switch {
	case l != nil:
		m = withInfo(l.meta, l.rec.Info())
	case rl != nil:
		m = rl.snapshot()
	default:
		var err error
		if m, err = a.Store.Get(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return m, nil, Errorf(http.StatusNotFound, "not_found", "no recording %q", id)
			}
			return m, nil, StoreError(err)
		}
	}
	if !a.canSee(p, m) {
		return RecordingMeta{}, nil, Errorf(http.StatusNotFound, "not_found", "no recording %q", id)
	}
	return m, l, nil
}

func (a *RecordingsAPI) canSee(p auth.Principal, m RecordingMeta) bool {
	if m.IsRoom() { // as its streams: room/{id}/…
		return a.Access != nil && a.Access.CanRead(p, media.StreamID("room/"+m.Room+"/"))
	}
	return a.Access != nil && m.Stream != "" && a.Access.CanRead(p, m.Stream)
}

func (a *RecordingsAPI) get(w http.ResponseWriter, r *http.Request) {
	m, _, err := a.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, a.render(r.Context(), m))
}

// list answers ?limit= (1–500, default 100) recordings that started before
// ?before= (RFC 3339), newest first, within the caller's scope.
func (a *RecordingsAPI) list(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "limit must be 1 to 500"))
			return
		}
		limit = n
	}
	var before time.Time
	if s := r.URL.Query().Get("before"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "before must be an RFC 3339 time"))
			return
		}
		before = t
	}
	ms, err := a.Store.List(r.Context(), before, limit, func(m RecordingMeta) bool { return a.canSee(p, m) })
	if err != nil {
		WriteError(w, r, StoreError(err))
		return
	}
	out := make([]recordingJSON, 0, len(ms))
	for _, m := range ms {
		a.mu.Lock()
		l, rl := a.live[m.ID], a.rooms[m.ID]
		a.mu.Unlock()
		switch {
		case l != nil:
			m = withInfo(l.meta, l.rec.Info())
		case rl != nil:
			m = rl.snapshot()
		}
		out = append(out, toRecordingJSON(m))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"recordings": out})
}

// stop ends a running recording and answers once its final state is stored.
func (a *RecordingsAPI) stop(w http.ResponseWriter, r *http.Request) {
	m, l, err := a.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if m.IsRoom() {
		a.stopRoom(w, r, m)
		return
	}
	if l == nil {
		if m.State == RecordingRunning {
			WriteError(w, r, Errorf(http.StatusConflict, "other_node", "the recording runs on node %q", m.Node))
			return
		}
		WriteError(w, r, Errorf(http.StatusConflict, "not_recording", "the recording already ended (%s)", m.State))
		return
	}
	_ = l.rec.Stop() // the outcome is in the stored state
	select {
	case <-l.saved:
	case <-r.Context().Done():
		return
	}
	a.event(r.Context(), RecordingEventStopped, withInfo(l.meta, l.rec.Info()))
	w.WriteHeader(http.StatusNoContent)
}

// file serves the recording as video/mp4 with Range support, so a <video>
// element can play and seek it (the token may come as ?access_token=).
// ?download=1 asks the browser to save it.
func (a *RecordingsAPI) file(w http.ResponseWriter, r *http.Request) {
	m, _, err := a.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if m.IsRoom() {
		WriteError(w, r, Errorf(http.StatusNotFound, "not_found",
			"a room recording has no file of its own; download its parts (GET /api/v1/recordings/%s lists them)", m.ID))
		return
	}
	if m.Node != a.Node {
		WriteError(w, r, Errorf(http.StatusConflict, "other_node", "the file is on node %q", m.Node))
		return
	}
	f, err := os.Open(m.Path)
	if errors.Is(err, fs.ErrNotExist) {
		WriteError(w, r, Errorf(http.StatusGone, "gone", "the recording's file no longer exists"))
		return
	}
	if err != nil {
		WriteError(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		WriteError(w, r, err)
		return
	}
	disp := "inline"
	if r.URL.Query().Get("download") == "1" {
		disp = "attachment"
	}
	name := recordingFilename(m)
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name}))
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if rg := r.Header.Get("Range"); rg == "" || strings.HasPrefix(rg, "bytes=0-") {
		a.event(r.Context(), RecordingEventDownloaded, m)
	}
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// recordingFilename is "{stream}_{start UTC}.mp4" with the stream id made
// safe for file systems.
func recordingFilename(m RecordingMeta) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, string(m.Stream))
	return safe + "_" + m.Start.UTC().Format("20060102T150405Z") + ".mp4"
}

// Recover marks recordings this node was writing when it stopped (a crash)
// as failed, after cutting any half-written fragment off their files, and
// reports them to OnFinished. Call it at start-up, before serving.
func (a *RecordingsAPI) Recover(ctx context.Context) error {
	ms, err := a.Store.Running(ctx, a.Node)
	if err != nil {
		return err
	}
	for _, m := range ms {
		a.mu.Lock()
		l, rl := a.live[m.ID], a.rooms[m.ID]
		a.mu.Unlock()
		if l != nil || rl != nil {
			continue
		}
		m.State, m.End = RecordingFailed, time.Now().UTC()
		if m.IsRoom() { // its parts are recovered on their own
			m.Error = "interrupted: the hub stopped while recording the room"
			m.Duration = m.End.Sub(m.Start)
			if err := a.Store.Update(ctx, m); err != nil {
				return err
			}
			a.event(ctx, RecordingEventFinished, m)
			continue
		}
		m.Error = "interrupted: the hub stopped while recording; the file plays up to its last fragment"
		if fi, err := record.Repair(m.Path); err != nil {
			m.Error = "interrupted: " + err.Error()
		} else {
			m.Duration, m.Size = fi.Duration, fi.Size
		}
		if err := a.Store.Update(ctx, m); err != nil {
			return err
		}
		a.log().Warn("recording interrupted by a restart", "recording", m.ID, "duration", m.Duration)
		a.event(ctx, RecordingEventFinished, m)
		if a.OnFinished != nil {
			a.OnFinished(m)
		}
	}
	return nil
}

// Close stops every recording this API started and waits until their final
// states are stored; later starts are refused. Call it before closing the
// store.
func (a *RecordingsAPI) Close() {
	a.mu.Lock()
	a.closed = true
	ls := make([]*liveRecording, 0, len(a.live))
	for _, l := range a.live {
		ls = append(ls, l)
	}
	for _, rl := range a.rooms {
		rl.requestStop()
	}
	a.mu.Unlock()
	for _, l := range ls {
		_ = l.rec.Stop()
	}
	a.wg.Wait()
}

func newRecordingID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
