package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/gateway/gb28181/sim"
	"pingan/internal/testutil/peer"
)

// whepViewer is a pion recvonly peer playing one stream over WHEP.
type whepViewer struct {
	*peer.Viewer
	firstAt  time.Time // when the POST was sent
	location string
}

// play POSTs a WHEP offer for stream and applies the answer.
func (h *testHub) play(stream string) *whepViewer {
	h.t.Helper()
	t := h.t
	pv, offer, err := peer.NewViewer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pv.PC.Close() })
	v := &whepViewer{Viewer: pv}
	pc := pv.PC
	req, err := http.NewRequest(http.MethodPost, h.base+"/whep/"+stream, strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+h.admin)
	v.firstAt = time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("WHEP %s: %d %s", stream, res.StatusCode, answer)
	}
	v.location = res.Header.Get("Location")
	if err := pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	return v
}

// waitKeyframe checks that the first video packet starts an H.264 keyframe
// and returns the time from the WHEP POST to it.
func (v *whepViewer) waitKeyframe(t *testing.T) time.Duration {
	t.Helper()
	return v.waitKeyframeOf(t, h264KeyframeStart)
}

// waitKeyframeOf checks the first video packet with isKeyframeStart.
func (v *whepViewer) waitKeyframeOf(t *testing.T, isKeyframeStart func([]byte) bool) time.Duration {
	t.Helper()
	select {
	case p := <-v.FirstVideo:
		if !isKeyframeStart(p) {
			t.Fatalf("first video packet does not start a keyframe: % x", p[:min(len(p), 8)])
		}
		return time.Since(v.firstAt)
	case <-time.After(15 * time.Second):
		t.Fatal("no video within 15 s")
		return 0
	}
}

// waitFrames waits for n more video frames.
func (v *whepViewer) waitFrames(t *testing.T, n uint64, d time.Duration) {
	t.Helper()
	from := v.Frames.Load()
	eventually(t, d, fmt.Sprintf("%d more video frames", n), func() bool { return v.Frames.Load() >= from+n })
}

// stop ends the WHEP session (DELETE) and closes the peer.
func (h *testHub) stopViewer(v *whepViewer) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, h.base+v.location, nil)
	req.Header.Set("Authorization", "Bearer "+h.admin)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
	_ = v.PC.Close()
}

// h264KeyframeStart: an SPS or IDR, a STAP-A holding one, or the first
// FU-A fragment of one.
func h264KeyframeStart(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	key := func(b byte) bool { t := b & 0x1f; return t == 7 || t == 5 }
	switch p[0] & 0x1f {
	case 24:
		return len(p) > 3 && key(p[3])
	case 28:
		return p[1]&0x80 != 0 && key(p[1])
	}
	return key(p[0])
}

func eventually(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// simLog records a simulated device's log lines, so tests can see what
// the device received (PTZ, INVITE, BYE).
type simLog struct {
	mu    sync.Mutex
	lines []string
}

type simLogHandler struct {
	l     *simLog
	attrs string
}

func (h simLogHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h simLogHandler) WithGroup(string) slog.Handler            { return h }
func (h simLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		h.attrs += " " + a.String()
	}
	return h
}
func (h simLogHandler) Handle(_ context.Context, r slog.Record) error {
	line := r.Message + h.attrs
	r.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	h.l.mu.Lock()
	h.l.lines = append(h.l.lines, line)
	h.l.mu.Unlock()
	return nil
}

// count returns how many lines start with msg and contain every part.
func (l *simLog) count(msg string, parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
next:
	for _, line := range l.lines {
		if !strings.HasPrefix(line, msg+" ") && line != msg {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		n++
	}
	return n
}

// startSim runs simulated devices against the hub until the test ends.
func (h *testHub) startSim(cfg sim.Config) *simLog {
	h.t.Helper()
	return h.startSimCtx(context.Background(), cfg)
}

// startSimCtx runs simulated devices until parent ends or the test ends.
func (h *testHub) startSimCtx(parent context.Context, cfg sim.Config) *simLog {
	h.t.Helper()
	l := &simLog{}
	cfg.Server = h.cfg.SIP.Addr
	cfg.PlatformID = h.cfg.SIP.ID
	if cfg.Password == "" {
		cfg.Password = h.cfg.SIP.Password
	}
	cfg.LocalIP = "127.0.0.1"
	cfg.Logger = slog.New(simLogHandler{l: l})
	ctx, cancel := context.WithCancel(parent)
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx, cfg) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("sim: %v", err)
			}
		case <-time.After(10 * time.Second):
			h.t.Error("sim did not stop")
		}
	})
	return l
}

// device is GET /api/v1/devices/{id}.
type deviceJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Online       bool   `json:"online"`
	Transport    string `json:"transport"`
	ChannelCount int    `json:"channel_count"`
	Region       string `json:"region"`
}

type channelJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Online    bool    `json:"online"`
	CivilCode string  `json:"civil_code"`
	Longitude float64 `json:"longitude"`
	StreamID  string  `json:"stream_id"`
}

func (h *testHub) device(id string) (deviceJSON, int) {
	var d deviceJSON
	code := h.call("GET", "/api/v1/devices/"+id, h.admin, nil, &d)
	return d, code
}

func (h *testHub) channels(id string) []channelJSON {
	var out struct {
		Channels []channelJSON `json:"channels"`
	}
	h.call("GET", "/api/v1/devices/"+id+"/channels", h.admin, nil, &out)
	return out.Channels
}

// waitDevice waits until a device is online with n channels listed.
func (h *testHub) waitDevice(id string, n int) []channelJSON {
	h.t.Helper()
	var chs []channelJSON
	eventually(h.t, 10*time.Second, "device "+id+" online with its channels", func() bool {
		d, code := h.device(id)
		if code != 200 || !d.Online {
			return false
		}
		chs = h.channels(id)
		return len(chs) == n
	})
	return chs
}

// streamOnline reports whether GET /api/v1/streams lists id.
func (h *testHub) streamListed(id string) bool {
	var out struct {
		Streams []struct {
			ID string `json:"id"`
		} `json:"streams"`
	}
	h.call("GET", "/api/v1/streams", h.admin, nil, &out)
	for _, s := range out.Streams {
		if s.ID == id {
			return true
		}
	}
	return false
}
