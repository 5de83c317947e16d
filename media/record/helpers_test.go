package record

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"pingan/internal/sample"
	"pingan/media"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		runChild(path) // never returns: the parent kills it
	}
	goleak.VerifyTestMain(m)
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// liveSample is a hub publishing the looping demo sample (H.264 + A-law) as demo/1.
type liveSample struct {
	hub *media.Hub
}

func startSample(t testing.TB) *liveSample {
	t.Helper()
	hub, stop := runSample(context.Background())
	t.Cleanup(stop)
	return &liveSample{hub: hub}
}

// runSample starts a hub and the sample loop; stop ends both and waits.
func runSample(ctx context.Context) (*media.Hub, func()) {
	ctx, cancel := context.WithCancel(ctx)
	hub := media.NewHub(media.Config{Logger: quietLogger()})
	hubDone := make(chan struct{})
	go func() { _ = hub.Run(ctx); close(hubDone) }()
	st, err := hub.Publish("demo/1")
	if err != nil {
		panic(err)
	}
	st.SetTracks(sampleTracks())
	loopDone := make(chan struct{})
	go func() { _ = sample.Loop(ctx, sink{st}); close(loopDone) }()
	return hub, func() { cancel(); <-loopDone; <-hubDone }
}

func sampleTracks() []*media.Track {
	vid, err := sample.Video()
	if err != nil {
		panic(err)
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

type sink struct{ s *media.Stream }

func (k sink) Video(f sample.Frame, pts int64) {
	// Stream.Write may compact NALUs in place: clone the shared sample slice.
	k.s.Write(&media.Unit{Track: 0, PTS: pts, Keyframe: f.Keyframe, NALUs: slices.Clone(f.NALUs)})
}

func (k sink) Audio(b []byte, pts int64) {
	k.s.Write(&media.Unit{Track: 1, PTS: pts, Payload: b})
}

func (l *liveSample) subscribe(t testing.TB) *media.Reader {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := l.hub.Subscribe(ctx, "demo/1", media.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// probe is what ffprobe says about a file.
type probe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
		Width     int    `json:"width"`
		Frames    string `json:"nb_read_frames"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func (p probe) duration() time.Duration {
	f, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return time.Duration(f * float64(time.Second))
}

func (p probe) video() (codec string, frames int) {
	for _, s := range p.Streams {
		if s.CodecType == "video" {
			n, _ := strconv.Atoi(s.Frames)
			return s.CodecName, n
		}
	}
	return "", 0
}

// ffprobePath finds ffprobe: a missing one skips the test locally and fails it in CI.
func ffprobePath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("ffprobe")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffprobe is required in CI")
		}
		t.Skip("ffprobe not installed")
	}
	return p
}

// ffprobe reads every frame of path (-count_frames) and fails the test on
// a decoding error.
func ffprobe(t testing.TB, path string) probe {
	t.Helper()
	bin := ffprobePath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-v", "error", "-count_frames",
		"-show_entries", "format=duration:stream=codec_name,codec_type,width,nb_read_frames",
		"-of", "json", path).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("ffprobe %s: %v\n%s", path, err, stderr)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return p
}

func within(got, want, tol time.Duration) error {
	if got < want-tol || got > want+tol {
		return fmt.Errorf("%v, want %v ± %v", got, want, tol)
	}
	return nil
}
