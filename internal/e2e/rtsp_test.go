package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func sampleFile(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "sample", name)
}

// TestFFmpegPublishesRTSPAndWHEPViewerWatches: ffmpeg publishes H.264 over
// RTSP with a user's credentials, a pion WHEP viewer gets frames starting
// at a keyframe, and ffprobe reads the stream back over RTSP (and is
// refused with a wrong password).
func TestFFmpegPublishesRTSPAndWHEPViewerWatches(t *testing.T) {
	ffmpeg := needTool(t, "ffmpeg")
	ffprobe := needTool(t, "ffprobe")
	h := startHub(t, false, nil)
	url := fmt.Sprintf("rtsp://admin:%s@%s/live/cam1", adminPassword, h.cfg.RTSP.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
		"-f", "h264", "-framerate", "25", "-i", sampleFile("demo.h264"), "-c", "copy",
		"-f", "rtsp", "-rtsp_transport", "tcp", url)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = pub.Wait() }()
	eventually(t, 15*time.Second, "live/cam1 online", func() bool {
		var s struct{ Online bool }
		return h.call("GET", "/api/v1/streams/live/cam1", h.admin, nil, &s) == http.StatusOK && s.Online
	})

	v := h.play("live/cam1")
	t.Logf("WHEP POST → first keyframe packet: %s", v.waitKeyframe(t))
	v.waitFrames(t, 25, 15*time.Second)

	out, err := exec.Command(ffprobe, "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_name",
		"-of", "csv=p=0", url).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "h264") {
		t.Fatalf("ffprobe RTSP out: %v %s", err, out)
	}
	bad := fmt.Sprintf("rtsp://admin:wrong-password@%s/live/cam1", h.cfg.RTSP.Addr)
	if out, err := exec.Command(ffprobe, "-v", "error", "-rtsp_transport", "tcp", bad).CombinedOutput(); err == nil {
		t.Fatalf("ffprobe with a wrong password succeeded: %s", out)
	}
}
