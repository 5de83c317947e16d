package record

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"pingan/media"
)

func newTestRecorder(t testing.TB, cfg Config) *Recorder {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.MinFreeMB == 0 {
		cfg.MinFreeMB = -1
	}
	cfg.Logger = quietLogger()
	rc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.Close)
	return rc
}

// TestRecordSample records ~3 s of the demo sample and checks that ffprobe
// decodes every frame and agrees on the duration.
func TestRecordSample(t *testing.T) {
	live := startSample(t)
	rc := newTestRecorder(t, Config{})
	rec, err := rc.Start(context.Background(), "r1", live.subscribe(t), "r1.mp4")
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	time.Sleep(3 * time.Second)
	if got := rec.Info(); !got.Running || got.Fragments < 1 {
		t.Errorf("while running: %+v", got)
	}
	if err := rec.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	wall := time.Since(began)
	info := rec.Info()
	if info.Running || info.Err != nil {
		t.Errorf("after Stop: %+v", info)
	}
	// The cached GOP adds up to one GOP (2 s) before Start.
	if info.Duration < wall-500*time.Millisecond || info.Duration > wall+2*time.Second {
		t.Errorf("Info.Duration = %v after %v of recording", info.Duration, wall)
	}
	st, err := os.Stat(info.Path)
	if err != nil || st.Size() != info.Size {
		t.Errorf("file size %v (%v), Info.Size %d", st.Size(), err, info.Size)
	}
	p := ffprobe(t, info.Path)
	codec, frames := p.video()
	t.Logf("recorded %v (%d fragments, %d bytes) in %v; ffprobe: %+v", info.Duration, info.Fragments, info.Size, wall, p)
	if codec != "h264" {
		t.Fatalf("video codec %q, want h264 (%+v)", codec, p)
	}
	if err := within(p.duration(), info.Duration, 500*time.Millisecond); err != nil {
		t.Errorf("ffprobe duration %v", err)
	}
	wantFrames := int(info.Duration.Seconds() * 25)
	if frames < wantFrames-2 || frames > wantFrames+2 {
		t.Errorf("ffprobe decoded %d frames, want about %d", frames, wantFrames)
	}
	if len(p.Streams) != 2 {
		t.Errorf("streams %+v, want video and audio", p.Streams)
	}
	if _, ok := rc.Get("r1"); ok {
		t.Error("finished recording still listed")
	}
}

// TestDiskFloorAtStart: with the floor above the free space, Start refuses.
func TestDiskFloorAtStart(t *testing.T) {
	live := startSample(t)
	dir := t.TempDir()
	free, err := freeBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	rc := newTestRecorder(t, Config{Dir: dir, MinFreeMB: free>>20 + 1024})
	r := live.subscribe(t)
	defer r.Close()
	start := time.Now()
	_, err = rc.Start(context.Background(), "full", r, "full.mp4")
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Start = %v, want ErrDiskFull", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "full.mp4")); !os.IsNotExist(err) {
		t.Errorf("file created: %v", err)
	}
}

// TestDiskFloorWhileRecording: the free space falls under the floor during
// a recording; it stops with ErrDiskFull and the file stays playable.
func TestDiskFloorWhileRecording(t *testing.T) {
	live := startSample(t)
	rc := newTestRecorder(t, Config{MinFreeMB: 100, FragmentDuration: 200 * time.Millisecond})
	var full atomic.Bool
	rc.free = func(string) (int64, error) {
		if full.Load() {
			return 50 << 20, nil
		}
		return 10 << 30, nil
	}
	rec, err := rc.Start(context.Background(), "r", live.subscribe(t), "r.mp4")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	full.Store(true)
	select {
	case <-rec.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("recording did not stop on a full disk")
	}
	info := rec.Info()
	if !errors.Is(info.Err, ErrDiskFull) || !errors.Is(rec.Stop(), ErrDiskFull) {
		t.Fatalf("Err = %v, want ErrDiskFull", info.Err)
	}
	if info.Fragments < 2 {
		t.Errorf("only %d fragments before the disk filled", info.Fragments)
	}
	p := ffprobe(t, info.Path)
	if err := within(p.duration(), info.Duration, 300*time.Millisecond); err != nil {
		t.Errorf("ffprobe duration %v", err)
	}
	fi, err := Repair(info.Path)
	if err != nil || fi.Cut != 0 || fi.Size != info.Size || fi.Fragments != info.Fragments {
		t.Errorf("Repair = %+v, %v; info %+v", fi, err, info)
	}
}

// TestRepairCutFragment truncates a recording inside its last fragment:
// ffprobe still reads it, and Repair cuts it back to the last complete one.
func TestRepairCutFragment(t *testing.T) {
	live := startSample(t)
	rc := newTestRecorder(t, Config{FragmentDuration: 500 * time.Millisecond})
	rec, err := rc.Start(context.Background(), "r", live.subscribe(t), "r.mp4")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	info := rec.Info()
	full, err := Repair(info.Path)
	if err != nil || full.Cut != 0 || full.Fragments != info.Fragments {
		t.Fatalf("Repair on a whole file = %+v, %v; info %+v", full, err, info)
	}
	if err := within(full.Duration, info.Duration, 0); err != nil {
		t.Errorf("Repair duration %v", err)
	}
	// Find the last fragment and cut the file in the middle of its mdat.
	f, err := os.Open(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	boxes, _ := scanBoxes(f, info.Size)
	f.Close()
	last := boxes[len(boxes)-1]
	if last.typ != "mdat" {
		t.Fatalf("last box %q", last.typ)
	}
	if err := os.Truncate(info.Path, last.off+last.size/2); err != nil {
		t.Fatal(err)
	}
	if _, frames := ffprobe(t, info.Path).video(); frames == 0 {
		t.Error("ffprobe decoded no frame of the cut file")
	}
	cut, err := Repair(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	moof := boxes[len(boxes)-2]
	if cut.Size != moof.off || cut.Fragments != info.Fragments-1 || cut.Cut != last.off+last.size/2-moof.off {
		t.Errorf("Repair = %+v, want size %d and %d fragments", cut, moof.off, info.Fragments-1)
	}
	p := ffprobe(t, info.Path)
	if err := within(p.duration(), cut.Duration, 200*time.Millisecond); err != nil {
		t.Errorf("ffprobe duration after repair %v", err)
	}
	if cut.Duration >= full.Duration {
		t.Errorf("repaired duration %v not under %v", cut.Duration, full.Duration)
	}
}

// TestStreamEnd: a push stream that ends finishes the recording cleanly;
// a recording without media reports ErrNoMedia.
func TestStreamEnd(t *testing.T) {
	hub := media.NewHub(media.Config{Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = hub.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	st, err := hub.Publish("x")
	if err != nil {
		t.Fatal(err)
	}
	st.SetTracks(sampleTracks())
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	r, err := hub.Subscribe(sctx, "x", media.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc := newTestRecorder(t, Config{})
	rec, err := rc.Start(ctx, "x", r, "x.mp4")
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	select {
	case <-rec.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("recording did not end with its stream")
	}
	if err := rec.Info().Err; !errors.Is(err, ErrNoMedia) {
		t.Errorf("Err = %v, want ErrNoMedia", err)
	}
}

func TestStartErrors(t *testing.T) {
	rc := newTestRecorder(t, Config{})
	r := &fakeReader{tracks: []*media.Track{{Codec: "VP8", ClockRate: 90000}}}
	if _, err := rc.Start(context.Background(), "a", r, "a.mp4"); !errors.Is(err, ErrNoTracks) {
		t.Errorf("unsupported codec: %v", err)
	}
	r = &fakeReader{tracks: sampleTracks()}
	if _, err := rc.Start(context.Background(), "a", r, "../a.mp4"); err == nil {
		t.Error("path outside Dir accepted")
	}
	if _, err := New(Config{FragmentDuration: -1}); err == nil {
		t.Error("negative fragment duration accepted")
	}
	rec, err := rc.Start(context.Background(), "a", r, "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Start(context.Background(), "a", &fakeReader{tracks: sampleTracks()}, "b.mp4"); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate id: %v", err)
	}
	if err := rec.Stop(); !errors.Is(err, ErrNoMedia) {
		t.Errorf("Stop = %v, want ErrNoMedia", err)
	}
	if !r.closed.Load() {
		t.Error("reader not closed")
	}
	rc.Close()
	if _, err := rc.Start(context.Background(), "c", &fakeReader{tracks: sampleTracks()}, "c.mp4"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// fakeReader has tracks and never delivers a unit.
type fakeReader struct {
	tracks []*media.Track
	closed atomic.Bool
}

func (f *fakeReader) Tracks() []*media.Track { return f.tracks }

func (f *fakeReader) Next(ctx context.Context) (*media.Unit, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (f *fakeReader) Close() { f.closed.Store(true) }
