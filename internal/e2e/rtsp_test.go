package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
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

// TestH265RTSPToWHEP: an H.265 camera (ffmpeg with libx265 publishing over
// RTSP) plays to a WebRTC viewer that offers H.265: the answer negotiates
// H.265 and the first packet starts a keyframe with its parameter sets.
func TestH265RTSPToWHEP(t *testing.T) {
	ffmpeg := needTool(t, "ffmpeg")
	if out, _ := exec.Command(ffmpeg, "-hide_banner", "-encoders").Output(); !strings.Contains(string(out), "libx265") {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg has no libx265 encoder")
		}
		t.Skip("ffmpeg has no libx265 encoder")
	}
	h := startHub(t, false, nil)
	url := fmt.Sprintf("rtsp://admin:%s@%s/live/hevc", adminPassword, h.cfg.RTSP.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
		"-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30",
		"-x265-params", "log-level=error:repeat-headers=1", "-pix_fmt", "yuv420p",
		"-f", "rtsp", "-rtsp_transport", "tcp", url)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = pub.Wait() }()
	eventually(t, 20*time.Second, "live/hevc online", func() bool {
		var s struct{ Online bool }
		return h.call("GET", "/api/v1/streams/live/hevc", h.admin, nil, &s) == http.StatusOK && s.Online
	})
	v := h.play("live/hevc")
	t.Logf("WHEP POST → first H.265 keyframe packet: %s", v.waitKeyframeOf(t, h265KeyframeStart))
	if m, _ := v.VideoMime.Load().(string); !strings.EqualFold(m, "video/H265") {
		t.Fatalf("negotiated %q, want video/H265", m)
	}
	v.waitFrames(t, 15, 15*time.Second)
	h.stopViewer(v)
}

// h265KeyframeStart: a VPS, SPS, PPS or IRAP NAL unit, an aggregation
// packet starting with one, or the first fragment of an IRAP.
func h265KeyframeStart(p []byte) bool {
	if len(p) < 3 {
		return false
	}
	typ := (p[0] >> 1) & 0x3f
	switch {
	case typ >= 32 && typ <= 34, typ >= 16 && typ <= 21: // VPS/SPS/PPS, IRAP
		return true
	case typ == 48: // AP: 2-byte size, then the first NAL unit
		return len(p) > 5 && h265KeyframeStart(p[4:])
	case typ == 49: // FU: start bit and IRAP type
		return p[2]&0x80 != 0 && (p[2]&0x3f) >= 16 && (p[2]&0x3f) <= 21
	}
	return false
}
