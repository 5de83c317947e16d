package rtsp

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"pingan/configs"
	"pingan/media"
)

// camera is a stand-in RTSP camera: our own server with its own hub,
// serving the looping sample as "cam" (credentials op:secret).
type camera struct {
	stopServer, stopSample func()
	addr                   string
}

func startCamera(t *testing.T, cfg ServerConfig) *camera {
	t.Helper()
	hub := newTestHub(t)
	stopSample := startSample(t, hub, "cam", true)
	cfg.Hub, cfg.Auth = hub, testAuth
	s, stop := runServer(t, cfg)
	c := &camera{stopServer: stop, stopSample: stopSample, addr: s.Addr().String()}
	t.Cleanup(c.stop)
	return c
}

func (c *camera) stop() {
	c.stopServer()
	c.stopSample()
}

func TestPullerFactory(t *testing.T) {
	p := NewPuller([]configs.Source{{Name: "gate1", URL: "rtsp://10.0.0.1/live"}}, nil)
	f := p.Factory()
	if src, err := f("rtsp/gate1"); err != nil || src == nil {
		t.Fatalf("rtsp/gate1: %v, %v", src, err)
	}
	for _, id := range []media.StreamID{"rtsp/nope", "rtsp/", "gate2"} {
		if _, err := f(id); !errors.Is(err, media.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", id, err)
		}
	}
}

func TestPullSourceBadConfig(t *testing.T) {
	for _, src := range []configs.Source{
		{Name: "t", URL: "rtsp://127.0.0.1:1/x", Transport: "pigeon"},
		{Name: "u", URL: "::bad url"},
	} {
		s := newPullSource(src, time.Second, testLogger(t))
		if err := s.Start(context.Background(), nil); err == nil {
			t.Errorf("%+v: Start succeeded", src)
		}
	}
}

// (c) A pulled camera delivers units; when it dies and comes back on the same
// port, the same hub reader keeps receiving with continuous timestamps.
func TestPullReconnect(t *testing.T) {
	for _, transport := range []string{"tcp", "auto"} {
		t.Run(transport, func(t *testing.T) {
			cam := startCamera(t, ServerConfig{Addr: "127.0.0.1:0"})
			testPullReconnect(t, cam, func() *camera {
				return startCamera(t, ServerConfig{Addr: cam.addr})
			}, transport)
		})
	}
}

// The same over UDP, when a free even/odd port pair can be found.
func TestPullReconnectUDP(t *testing.T) {
	rtpPort := udpPortPair(t)
	cfg := ServerConfig{
		Addr:        "127.0.0.1:0",
		UDPRTPAddr:  "127.0.0.1:" + strconv.Itoa(rtpPort),
		UDPRTCPAddr: "127.0.0.1:" + strconv.Itoa(rtpPort+1),
	}
	cam := startCamera(t, cfg)
	testPullReconnect(t, cam, func() *camera {
		cfg.Addr = cam.addr
		return startCamera(t, cfg)
	}, "udp")
}

func testPullReconnect(t *testing.T, cam *camera, restart func() *camera, transport string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hub := newTestHub(t)
	p := NewPuller([]configs.Source{{
		Name: "door", URL: "rtsp://op:secret@" + cam.addr + "/cam", Transport: transport,
	}}, testLogger(t))
	p.ReadTimeout = 2 * time.Second
	hub.RegisterSource(SourcePrefix, p.Factory())

	r := subscribeWait(ctx, t, hub, "rtsp/door")
	if got := codecsOf(r.Tracks()); len(got) != 2 || got[0] != media.H264 || got[1] != media.PCMA {
		t.Fatalf("tracks = %v, want H264 + PCMA", got)
	}
	before := nextUnits(ctx, t, r, 0, 25)
	if !before[0].Keyframe {
		t.Fatal("first unit is not a keyframe")
	}
	last := before[len(before)-1].PTS

	cam.stop()
	time.Sleep(500 * time.Millisecond)
	restart()
	restarted := time.Now()

	// Units queued before the drop may still come; wait for ones sent after
	// the restart and check the timeline never goes back or jumps far.
	deadline := time.Now().Add(45 * time.Second)
	var after int
	for after < 25 && time.Now().Before(deadline) {
		u := nextUnits(ctx, t, r, 0, 1)[0]
		if u.PTS <= last {
			t.Fatalf("PTS went back: %d after %d", u.PTS, last)
		}
		if gap := u.PTS - last; gap > 60*90000 {
			t.Fatalf("PTS jumped %d ticks", gap)
		}
		if u.Received.After(restarted) {
			after++
		}
		last = u.PTS
	}
	if after < 25 {
		t.Fatalf("only %d units after the camera came back", after)
	}
}

// udpPortPair finds an even UDP port p on loopback with p+1 also free.
func udpPortPair(t *testing.T) int {
	t.Helper()
	for range 100 {
		a, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		a.Close()
		if p%2 != 0 || p > 65000 {
			continue
		}
		l1, err1 := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		l2, err2 := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p+1))
		if l1 != nil {
			l1.Close()
		}
		if l2 != nil {
			l2.Close()
		}
		if err1 == nil && err2 == nil {
			return p
		}
	}
	t.Skip("no free even/odd UDP port pair")
	return 0
}
