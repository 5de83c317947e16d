package gb28181

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"pingan/gateway/gb28181/sim"
	"pingan/media"
)

// playEnv is a running Server, a media hub with the gb/ source and one
// simulated device.
type playEnv struct {
	*testServer
	hub     *media.Hub
	device  DeviceID
	channel DeviceID
}

func startPlayEnv(t *testing.T, deviceID string, mod func(*sim.Config)) *playEnv {
	t.Helper()
	ts := startServer(t, func(c *Config) {
		c.MediaTimeout = 2 * time.Second
		c.RTPPorts = "31000-31999"
	})
	hub := media.NewHub(media.Config{IdleTimeout: 300 * time.Millisecond, Logger: testLogger(t)})
	hub.RegisterSource(StreamPrefix, ts.SourceFactory())
	ctx, cancel := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- hub.Run(ctx) }()
	simDone := make(chan error, 1)
	cfg := sim.Config{
		Server: ts.addr, PlatformID: testPlatform, DeviceID: deviceID, Password: testPassword,
		LocalIP: "127.0.0.1", Logger: testLogger(t),
	}
	if mod != nil {
		mod(&cfg)
	}
	go func() { simDone <- sim.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		for _, c := range []chan error{hubDone, simDone} {
			select {
			case <-c:
			case <-time.After(10 * time.Second):
				t.Error("hub or sim did not stop")
			}
		}
	})
	e := &playEnv{testServer: ts, hub: hub, device: DeviceID(deviceID)}
	waitFor(t, "the device's channel", func() bool {
		chs, err := ts.Channels(context.Background(), e.device)
		if err == nil && len(chs) > 0 {
			e.channel = chs[0].ID
			return true
		}
		return false
	})
	return e
}

// readKeyframe subscribes and checks that the first unit is a video
// keyframe and that video keeps flowing; it returns the reader.
func (e *playEnv) readKeyframe(t *testing.T) *media.Reader {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	r, err := e.hub.Subscribe(ctx, media.StreamID(StreamID(e.channel)), media.ReaderOptions{})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	var videos, audios int
	for videos < 10 {
		u, err := r.Next(ctx)
		if err != nil {
			r.Close()
			t.Fatalf("after %d video units: %v", videos, err)
		}
		tr := r.Tracks()[u.Track]
		if tr.Codec.IsVideo() {
			if videos == 0 {
				if !u.Keyframe {
					t.Fatal("first video unit is not a keyframe")
				}
				t.Logf("first keyframe %s after Subscribe", time.Since(start))
			}
			videos++
		} else {
			audios++
		}
	}
	if codecs := fmt.Sprintf("%s %d", r.Tracks()[0].Codec, len(r.Tracks())); codecs != "H264 2" {
		t.Errorf("tracks %s, want H264 + audio", codecs)
	}
	if audios == 0 {
		t.Error("no audio units")
	}
	return r
}

func TestPlayTransports(t *testing.T) {
	for _, mode := range []string{"udp", "tcp-passive", "tcp-active"} {
		t.Run(mode, func(t *testing.T) {
			e := startPlayEnv(t, "34020000001320000001", nil)
			if _, err := e.UpdateDevice(context.Background(), e.device, DeviceUpdate{Transport: &mode}); err != nil {
				t.Fatal(err)
			}
			r := e.readKeyframe(t)
			if n := e.PlaySessions(); n != 1 {
				t.Errorf("sessions %d, want 1", n)
			}
			r.Close()
			waitFor(t, "BYE after idle", func() bool { return e.PlaySessions() == 0 })
			if n := e.play.ssrc.inUse(); n != 0 {
				t.Errorf("SSRC sequences in use after BYE: %d", n)
			}
			if n := e.play.ports.InUse(); n != 0 {
				t.Errorf("ports in use after BYE: %d", n)
			}
		})
	}
}

func TestPlayInterop(t *testing.T) {
	cases := []struct {
		name, mode string
		mod        func(*sim.Config)
	}{
		{"no SDP udp", "udp", func(c *sim.Config) { c.AnswerWithoutSDP = true }},
		{"no SDP tcp-active falls back", "tcp-active", func(c *sim.Config) { c.AnswerWithoutSDP = true }},
		{"no PSM", "tcp-passive", func(c *sim.Config) { c.NoPSM = true }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := startPlayEnv(t, "34020000001320000001", c.mod)
			if _, err := e.UpdateDevice(context.Background(), e.device, DeviceUpdate{Transport: &c.mode}); err != nil {
				t.Fatal(err)
			}
			e.readKeyframe(t).Close()
		})
	}
}

// TestPlayRestart: a media drop and a device BYE end the session; the hub
// INVITEs again while the reader stays.
func TestPlayRestart(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*sim.Config)
	}{
		{"media drop", func(c *sim.Config) { c.DropMediaAfter = 1500 * time.Millisecond }},
		{"device BYE", func(c *sim.Config) { c.SendByeAfter = 1500 * time.Millisecond }},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := startPlayEnv(t, "34020000001320000001", c.mod)
			r := e.readKeyframe(t)
			defer r.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			// Read through the drop until the stream has been re-INVITEd
			// and a keyframe arrives again, later than the drop.
			sawGap := false
			last := time.Now()
			for {
				u, err := r.Next(ctx)
				if err != nil {
					t.Fatalf("reader after the drop: %v (gap seen %v)", err, sawGap)
				}
				if time.Since(last) > time.Second {
					sawGap = true
				}
				last = time.Now()
				if sawGap && u.Keyframe {
					break
				}
			}
		})
	}
}

func TestPlayUnknownChannel(t *testing.T) {
	e := startPlayEnv(t, "34020000001320000001", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.hub.Subscribe(ctx, "gb/34020000001310009999", media.ReaderOptions{})
	if !errors.Is(err, media.ErrNotFound) {
		t.Fatalf("unknown channel: %v, want ErrNotFound", err)
	}
	_, err = e.hub.Subscribe(ctx, "gb/not-an-id", media.ReaderOptions{})
	if !errors.Is(err, media.ErrNotFound) {
		t.Fatalf("bad id: %v, want ErrNotFound", err)
	}
}

func TestSSRCPool(t *testing.T) {
	var p ssrcPool
	seen := map[int]bool{}
	for range ssrcSeqs {
		v, err := p.acquire()
		if err != nil || seen[v] {
			t.Fatalf("acquire %d %v", v, err)
		}
		seen[v] = true
	}
	if _, err := p.acquire(); err == nil {
		t.Fatal("acquire from a full pool")
	}
	p.release(42)
	p.release(42)
	if v, err := p.acquire(); err != nil || v != 42 {
		t.Fatalf("reacquire %d %v", v, err)
	}
	if p.inUse() != ssrcSeqs {
		t.Fatalf("in use %d", p.inUse())
	}
}
