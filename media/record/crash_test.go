package record

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"pingan/media"
)

// childEnv makes the test binary a recording child (see TestMain).
const childEnv = "PINGAN_RECORD_CHILD"

// runChild records the sample into path until it is killed.
func runChild(path string) {
	hub, _ := runSample(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	r, err := hub.Subscribe(ctx, "demo/1", media.ReaderOptions{})
	cancel()
	if err != nil {
		panic(err)
	}
	rc, err := New(Config{Dir: filepath.Dir(path), MinFreeMB: -1,
		FragmentDuration: 100 * time.Millisecond, Logger: quietLogger()})
	if err != nil {
		panic(err)
	}
	if _, err := rc.Start(context.Background(), "crash", r, path); err != nil {
		panic(err)
	}
	select {} // until SIGKILL
}

// TestCrashKill9 kills a recording process with SIGKILL and checks the file
// it leaves: ffprobe decodes it, and Repair finds whole fragments.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	ffprobePath(t)
	path := filepath.Join(t.TempDir(), "crash.mp4")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if st, err := os.Stat(path); err == nil && st.Size() > 200<<10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child wrote no recording")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	p := ffprobe(t, path)
	codec, frames := p.video()
	if codec != "h264" || frames < 25 {
		t.Fatalf("ffprobe after kill: %s, %d frames (%+v)", codec, frames, p)
	}
	fi, err := Repair(path)
	if err != nil || fi.Fragments < 5 {
		t.Fatalf("Repair = %+v, %v", fi, err)
	}
	p = ffprobe(t, path)
	if err := within(p.duration(), fi.Duration, 200*time.Millisecond); err != nil {
		t.Errorf("ffprobe duration after repair %v", err)
	}
	t.Logf("killed child left %d fragments, %v, %d bytes cut", fi.Fragments, fi.Duration, fi.Cut)
}
