package sim

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghettovoice/gosip/sip"
	"go.uber.org/goleak"

	"pingan/gateway/gb28181/manscdp"
	"pingan/gateway/gb28181/rtpin"
	"pingan/gateway/gb28181/sdp"
	"pingan/media/ps"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startSim runs the simulator against p until the test ends.
func startSim(t *testing.T, p *platform, cfg Config) (stop func()) {
	t.Helper()
	cfg.Server, cfg.PlatformID, cfg.Password, cfg.LocalIP = p.addr, testPlatform, testPassword, "127.0.0.1"
	if cfg.DeviceID == "" {
		cfg.DeviceID = testDevice
	}
	if cfg.Transport == "" {
		cfg.Transport = strings.ToLower(p.transport)
	}
	cfg.Logger = testLogger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// session is one play from the platform's side.
type playSession struct {
	inv    sip.Request
	res    sip.Response
	answer *sdp.Session
	rx     *rtpin.Receiver
	mu     sync.Mutex
	frames []ps.Frame
	first  time.Time // when the first video frame arrived
	done   chan error
}

func (s *playSession) add(f ps.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Video && s.first.IsZero() {
		s.first = time.Now()
	}
	s.frames = append(s.frames, f)
}

func (s *playSession) video() []ps.Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v []ps.Frame
	for _, f := range s.frames {
		if f.Video {
			v = append(v, f)
		}
	}
	return v
}

func (s *playSession) waitVideo(t *testing.T, n int) []ps.Frame {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if v := s.video(); len(v) >= n {
			return v
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d video frames, want %d; receiver %+v", len(s.video()), n, s.rx.Stats())
	return nil
}

// play INVITEs channel with an offer for mode, ACKs, and receives with rtpin.
func (p *platform) play(t *testing.T, device, channel string, mode rtpin.Mode, timeout time.Duration) *playSession {
	t.Helper()
	y := sdp.SSRC(true, testDomain, 42)
	ssrc, _ := sdp.SSRCValue(y)
	s := &playSession{done: make(chan error, 1)}
	rx, err := rtpin.New(rtpin.Config{Mode: mode, IP: "127.0.0.1", SSRC: ssrc, OnFrame: s.add, Timeout: timeout, AllowIP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	s.rx = rx
	offer := sdp.Session{Name: sdp.NamePlay, Origin: testPlatform, IP: "127.0.0.1", Port: rx.Port(), SSRC: y}
	if mode != rtpin.ModeUDP {
		offer.TCP, offer.Setup = true, sdp.SetupPassive
		if mode == rtpin.ModeTCPActive {
			offer.Setup = sdp.SetupActive
		}
	}
	s.inv = p.request(sip.INVITE, device, channel, "APPLICATION/SDP", string(offer.Marshal()))
	s.inv.AppendHeader(&sip.GenericHeader{HeaderName: "Subject", Contents: channel + ":" + y + "," + testPlatform + ":0"})
	s.res, err = p.do(s.inv)
	if err != nil {
		rx.Close()
		t.Fatalf("INVITE: %v", err)
	}
	if err := p.srv.Send(sip.NewAckRequest("", s.inv, s.res, "", nil)); err != nil {
		t.Fatalf("ACK: %v", err)
	}
	if body := s.res.Body(); body != "" {
		if s.answer, err = sdp.Parse([]byte(body)); err != nil {
			t.Fatalf("answer: %v", err)
		}
		if mode == rtpin.ModeTCPActive {
			rx.SetRemote(net.JoinHostPort(s.answer.IP, strconv.Itoa(s.answer.Port)))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { s.done <- rx.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

func TestRegisterCatalogPlay(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			p := newPlatform(t, transport)
			stop := startSim(t, p, Config{Channels: 3, Keepalive: 500 * time.Millisecond})
			if id := wait(t, p.registered, "REGISTER"); id != testDevice {
				t.Fatalf("registered %s", id)
			}
			wait(t, p.keepalives, "keepalive")

			checkCatalog(t, p)
			p.query(testDevice, manscdp.Query(manscdp.CmdDeviceInfo, 8, testDevice))
			if m := wait(t, p.responses, "DeviceInfo"); m.CmdType != manscdp.CmdDeviceInfo || m.DeviceInfo().Channel != 3 || m.SN != 8 {
				t.Errorf("DeviceInfo %+v", m.DeviceInfo())
			}
			p.query(testDevice, manscdp.Query(manscdp.CmdDeviceStatus, 9, testDevice))
			if m := wait(t, p.responses, "DeviceStatus"); m.DeviceStatus().Online != "ONLINE" {
				t.Errorf("DeviceStatus %+v", m.DeviceStatus())
			}

			for _, mode := range []rtpin.Mode{rtpin.ModeUDP, rtpin.ModeTCPPassive, rtpin.ModeTCPActive} {
				t.Run(string(mode), func(t *testing.T) { checkPlay(t, p, mode) })
			}

			stop()
			if id := wait(t, p.unregistered, "unREGISTER"); id != testDevice {
				t.Errorf("unregistered %s", id)
			}
		})
	}
}

// checkCatalog: 3 channels come in 2 pages with SumNum 3.
func checkCatalog(t *testing.T, p *platform) {
	t.Helper()
	p.query(testDevice, manscdp.Query(manscdp.CmdCatalog, 7, testDevice))
	var items []manscdp.CatalogItem
	for pages := 0; len(items) < 3; pages++ {
		m := wait(t, p.responses, "catalog page")
		c := m.Catalog()
		if m.SN != 7 || c.SumNum != 3 || pages > 1 {
			t.Fatalf("page %d: SN %d SumNum %d", pages, m.SN, c.SumNum)
		}
		items = append(items, c.Items...)
	}
	slices.SortFunc(items, func(a, b manscdp.CatalogItem) int { return strings.Compare(a.DeviceID, b.DeviceID) })
	want := []string{"14010500001310000002", "14010500001310000003", "14010500001310000004"}
	for i, it := range items {
		if it.DeviceID != want[i] || !strings.Contains(it.Name, "通道") || it.CivilCode != "140105" ||
			it.ParentID != testDevice || it.Longitude == 0 || !it.Online() {
			t.Errorf("item %d: %+v", i, it)
		}
	}
}

// checkPlay: INVITE a channel, get a keyframe first within 2 s, ask for a
// keyframe, BYE, and the media stops.
func checkPlay(t *testing.T, p *platform, mode rtpin.Mode) {
	t.Helper()
	t0 := time.Now()
	s := p.play(t, testDevice, "14010500001310000003", mode, 3*time.Second)
	if s.answer == nil || s.answer.Direction != "sendonly" || s.answer.SSRC != sdp.SSRC(true, testDomain, 42) ||
		s.answer.TCP != (mode != rtpin.ModeUDP) {
		t.Fatalf("answer %+v", s.answer)
	}
	v := s.waitVideo(t, 5)
	if !v[0].Keyframe || v[0].Codec != ps.H264 {
		t.Errorf("first frame: keyframe %v codec %s", v[0].Keyframe, v[0].Codec)
	}
	if d := s.first.Sub(t0); d > 2*time.Second {
		t.Errorf("first keyframe after %v", d)
	}
	// IFameCmd: the next frame is a keyframe, not one 2 s later.
	n := len(s.waitVideo(t, 10))
	p.query(testDevice, manscdp.KeyframeControl(10, "14010500001310000003"))
	v = s.waitVideo(t, n+8)
	key := false
	for _, f := range v[n:] {
		key = key || f.Keyframe
	}
	if !key {
		t.Error("no keyframe after IFameCmd")
	}
	p.bye(s.inv, s.res, testDevice)
	time.Sleep(200 * time.Millisecond)
	before := s.rx.Stats().Packets
	time.Sleep(300 * time.Millisecond)
	if after := s.rx.Stats().Packets; after != before {
		t.Errorf("media continues after BYE: %d → %d packets", before, after)
	}
}

func TestInterop(t *testing.T) {
	p := newPlatform(t, "udp")
	startSim(t, p, Config{AnswerWithoutSDP: true, NoPSM: true, SendByeAfter: 1500 * time.Millisecond})
	wait(t, p.registered, "REGISTER")
	s := p.play(t, testDevice, testDevice, rtpin.ModeUDP, 3*time.Second)
	if s.res.Body() != "" {
		t.Errorf("answer has a body")
	}
	v := s.waitVideo(t, 10)
	if v[0].Codec != ps.H264 || !v[0].Keyframe || v[0].StreamType != 0 {
		t.Errorf("first frame without PSM: codec %q key %v stream type %#x", v[0].Codec, v[0].Keyframe, v[0].StreamType)
	}
	cid, _ := s.inv.CallID()
	if got := wait(t, p.byes, "device BYE"); got != cid.Value() {
		t.Errorf("BYE for %s", got)
	}
}

func TestDropMedia(t *testing.T) {
	p := newPlatform(t, "tcp")
	startSim(t, p, Config{DropMediaAfter: 500 * time.Millisecond})
	wait(t, p.registered, "REGISTER")
	s := p.play(t, testDevice, "14010500001310000002", rtpin.ModeTCPPassive, 500*time.Millisecond)
	s.waitVideo(t, 3)
	select {
	case err := <-s.done:
		if !errors.Is(err, rtpin.ErrMediaTimeout) {
			t.Fatalf("Run: %v", err)
		}
		s.done <- err // for the cleanup
	case <-time.After(3 * time.Second):
		t.Fatal("no media timeout")
	}
}

func TestManyDevices(t *testing.T) {
	p := newPlatform(t, "udp")
	startSim(t, p, Config{Count: 7, Channels: 2, DevicesPerSocket: 3, RegisterRate: 200})
	seen := map[string]bool{}
	for range 7 {
		seen[wait(t, p.registered, "REGISTER")] = true
	}
	if len(seen) != 7 || !seen["14010500001320000007"] {
		t.Fatalf("registered %v", seen)
	}
	// Device 3's channels follow device 2's: serials 6 and 7.
	p.query("14010500001320000003", manscdp.Query(manscdp.CmdCatalog, 1, "14010500001320000003"))
	c := wait(t, p.responses, "catalog").Catalog()
	if c.SumNum != 2 || c.Items[0].DeviceID != "14010500001310000006" || c.Items[1].DeviceID != "14010500001310000007" {
		t.Errorf("catalog %+v", c)
	}
}

func TestWrongPassword(t *testing.T) {
	p := newPlatform(t, "udp")
	cfg := Config{}
	cfg.Server, cfg.PlatformID, cfg.DeviceID, cfg.Password, cfg.LocalIP = p.addr, testPlatform, testDevice, "wrong", "127.0.0.1"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	wait(t, p.rejected, "403")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Server: "127.0.0.1:5060", PlatformID: testPlatform, DeviceID: "123"},
		{Server: "127.0.0.1:5060", PlatformID: testPlatform, DeviceID: testDevice, Transport: "sctp"},
		{Server: "127.0.0.1:5060", PlatformID: testPlatform, DeviceID: "14010500001329999999", Count: 2},
	} {
		if err := Run(context.Background(), cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	c := Config{PlatformID: testPlatform, DeviceID: testDevice}
	c.setDefaults()
	if c.Domain != testDomain || c.CivilCode != "140105" || c.Channels != 1 {
		t.Errorf("defaults %+v", c)
	}
}
