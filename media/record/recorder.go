// Package record writes streams of the media hub to fragmented MP4 files
// (ISO/IEC 14496-12 §8.8, muxed with mediacommon's fmp4): an init segment,
// then one moof+mdat fragment per Config.FragmentDuration, each appended
// whole and fsynced, so a crash or a full disk leaves a file that plays up
// to its last complete fragment (Repair cuts a fragment a crash interrupted).
// H.264/H.265 video and Opus/AAC audio are stored as they are; G.711 has no
// MP4 sample entry and is decoded to 16-bit PCM.
//
// The package writes files and reports progress (Recording.Info); keeping
// metadata is its caller's job. It imports only media.
package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"pingan/media"
)

// Defaults for zero Config fields.
const (
	DefaultFragmentDuration = time.Second
	DefaultMinFreeMB        = 512
	DefaultDir              = "recordings"
)

// Config configures a Recorder. Zero fields take the defaults named.
type Config struct {
	// Dir holds recordings started with a relative path (default "recordings").
	Dir string
	// MinFreeMB is the free-space floor of the recording volume: a recording
	// will not start, and a running one stops with ErrDiskFull, when a
	// fragment would leave less (default 512; negative disables the floor).
	MinFreeMB int64
	// FragmentDuration is the media time per fragment, which is also how
	// much a crash can lose (default 1s).
	FragmentDuration time.Duration
	// Logger receives lifecycle logs (default slog.Default()).
	Logger *slog.Logger
}

// Reader is what a recording reads: a *media.Reader. The recording owns it
// and closes it when it ends.
type Reader interface {
	Tracks() []*media.Track
	Next(ctx context.Context) (*media.Unit, error)
	Close()
}

// Info describes a recording, running or finished.
type Info struct {
	ID    string
	Path  string
	Start time.Time // wall clock when Start was called
	// Duration is the media time written to the file so far; Size its bytes.
	Duration  time.Duration
	Size      int64
	Fragments int
	Running   bool
	// Err is why the recording failed (nil while running and after a clean
	// stop): ErrDiskFull, ErrNoMedia, a write or stream error. The file is
	// playable up to its last fragment in every case.
	Err error
}

// Recorder runs recordings. Its methods are safe for concurrent use.
type Recorder struct {
	cfg  Config
	log  *slog.Logger
	free func(dir string) (int64, error)

	mu     sync.Mutex
	recs   map[string]*Recording
	closed bool
	wg     sync.WaitGroup
}

// New validates cfg and returns a recorder; it starts nothing.
func New(cfg Config) (*Recorder, error) {
	if cfg.FragmentDuration < 0 {
		return nil, fmt.Errorf("record: fragment duration %v is negative", cfg.FragmentDuration)
	}
	if cfg.FragmentDuration == 0 {
		cfg.FragmentDuration = DefaultFragmentDuration
	}
	if cfg.MinFreeMB == 0 {
		cfg.MinFreeMB = DefaultMinFreeMB
	}
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Recorder{cfg: cfg, log: cfg.Logger, free: freeBytes, recs: make(map[string]*Recording)}, nil
}

// Start records r into path (relative paths are under Config.Dir; the file
// must not exist) until Stop, Close, the end of ctx or the end of the
// stream. Pass a long-lived context (the server's), not a request's. It
// fails with ErrDiskFull when the volume is already under the floor and
// with ErrNoTracks when no track can be stored; r is then left open.
func (rc *Recorder) Start(ctx context.Context, id string, r Reader, path string) (*Recording, error) {
	if !filepath.IsAbs(path) {
		if !filepath.IsLocal(path) {
			return nil, fmt.Errorf("record: path %q leaves the recordings directory", path)
		}
		path = filepath.Join(rc.cfg.Dir, path)
	}
	m, skipped, err := newMuxer(r.Tracks())
	if err != nil {
		return nil, fmt.Errorf("record: %s: %w", id, errors.Join(append([]error{err}, skipped...)...))
	}
	m.dir, m.fragDur, m.free = filepath.Dir(path), rc.cfg.FragmentDuration, rc.free
	if rc.cfg.MinFreeMB > 0 {
		m.minFree = rc.cfg.MinFreeMB << 20
	}
	log := rc.log.With("recording", id, "path", path)
	for _, err := range skipped {
		log.Warn("track not recorded", "error", err)
	}

	if err := m.checkFloor(0); err != nil {
		return nil, err
	}
	f, err := createFile(path)
	if err != nil {
		return nil, err
	}
	m.f = f
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := rc.admit(id); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	rec := &Recording{cancel: cancel, done: make(chan struct{}), log: log,
		info: Info{ID: id, Path: path, Start: time.Now(), Running: true}}
	rc.recs[id] = rec
	rc.wg.Add(1)
	go func() {
		defer rc.wg.Done()
		rec.run(rctx, r, m)
		rc.mu.Lock()
		delete(rc.recs, id)
		rc.mu.Unlock()
	}()
	log.Info("recording started")
	return rec, nil
}

// admit checks, under rc.mu, that a recording id may start.
func (rc *Recorder) admit(id string) error {
	if rc.closed {
		return ErrClosed
	}
	if rc.recs[id] != nil {
		return fmt.Errorf("record: %s: %w", id, ErrExists)
	}
	return nil
}

// Get returns a running recording.
func (rc *Recorder) Get(id string) (*Recording, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rec, ok := rc.recs[id]
	return rec, ok
}

// Close stops every recording, waits for their files to be finished and
// refuses new ones.
func (rc *Recorder) Close() {
	rc.mu.Lock()
	rc.closed = true
	for _, rec := range rc.recs {
		rec.cancel()
	}
	rc.mu.Unlock()
	rc.wg.Wait()
}

// Recording is one running (or finished) recording.
type Recording struct {
	cancel context.CancelFunc
	done   chan struct{}
	log    *slog.Logger

	mu   sync.Mutex
	info Info
}

// Info returns the recording's progress, or its final state once Done.
func (rec *Recording) Info() Info {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.info
}

// Done is closed when the file is finished.
func (rec *Recording) Done() <-chan struct{} { return rec.done }

// Stop ends the recording, waits until its file is finished and returns
// Info().Err.
func (rec *Recording) Stop() error {
	rec.cancel()
	<-rec.done
	return rec.Info().Err
}

func (rec *Recording) run(ctx context.Context, r Reader, m *muxer) {
	defer close(rec.done)
	defer rec.cancel()
	defer r.Close()
	var failed error
	for {
		u, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, media.ErrClosed) {
				failed = fmt.Errorf("record: read: %w", err)
			}
			break
		}
		if err := m.write(u); err != nil {
			failed = err
			break
		}
		rec.update(m, nil, true)
	}
	if err := m.finish(); err != nil && failed == nil {
		failed = err
	}
	if !m.started && failed == nil {
		failed = ErrNoMedia
	}
	if err := m.f.Close(); err != nil && failed == nil {
		failed = fmt.Errorf("record: close: %w", err)
	}
	rec.update(m, failed, false)
	info := rec.Info()
	if failed != nil {
		rec.log.Warn("recording failed", "error", failed, "duration", info.Duration, "size", info.Size)
		return
	}
	rec.log.Info("recording finished", "duration", info.Duration, "size", info.Size)
}

func (rec *Recording) update(m *muxer, err error, running bool) {
	rec.mu.Lock()
	rec.info.Duration, rec.info.Size, rec.info.Fragments = m.duration, m.size, m.fragments
	rec.info.Err, rec.info.Running = err, running
	rec.mu.Unlock()
}
