// Package sim is a simulated GB28181 device (gbsim): one IPC or NVR with N
// channels, or many of them from one process for load tests. It registers
// with MD5 digest, keeps alive, answers Catalog, DeviceInfo and
// DeviceStatus queries, logs PTZ commands, and answers INVITE by streaming
// the shipped sample (internal/sample) as PS over RTP (media/ps) over UDP,
// TCP it dials (the hub's setup:passive) or TCP it accepts (setup:active).
// It is the project's own device, built on gosip as a user agent, and the
// loopback peer of the gateway's end-to-end tests (GB/T 28181-2016 §9;
// gb28181.md §3–§8, §11, §13).
//
// Sockets: devices share gosip servers, DevicesPerSocket per server (one
// SIP socket, one TCP connection to the hub); see DefaultDevicesPerSocket.
// Starting thousands of devices at once overflows UDP socket buffers and
// costs 500 ms retransmits; RegisterRate paces the start.
//
// Imports: gosip, pion/rtp (via media/ps), media/ps, internal/sample and
// gateway/gb28181/{manscdp,ptz,sdp} — never the gateway itself.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for zero Config fields.
const (
	DefaultKeepalive       = 60 * time.Second
	DefaultExpires         = 3600 * time.Second
	DefaultName            = "平安模拟摄像机"
	DefaultCatalogPageSize = 2
	// DefaultDevicesPerSocket is how many simulated devices share one gosip
	// server. Measured (TestMeasureSockets, 2,000 devices registered over
	// loopback UDP, steady state after transactions expired): one server
	// per device costs ~10 goroutines and ~115 KB per device (10,000
	// devices: 100k goroutines, >1 GB); 50 per server ~1.2 goroutines and
	// ~12 KB; one server for all ~1 goroutine and ~8.5 KB. Registration
	// speed was the same (the pacing, ~1,000/s). 50 keeps hundreds of
	// distinct source ports (the hub's NAT and per-address paths) for
	// little more than a single shared socket costs.
	DefaultDevicesPerSocket = 50
)

// Config describes the simulated devices.
type Config struct {
	Server     string // the platform's SIP address, host:port
	PlatformID string // the platform's 20-digit id
	Domain     string // SIP domain and realm; "" means the first 10 digits of PlatformID
	DeviceID   string // the (first) device's 20-digit id
	Password   string
	Channels   int           // channels per device; 0 means 1
	Transport  string        // SIP transport "udp" (default) or "tcp"
	Keepalive  time.Duration // keepalive interval; 0 means 60 s
	Expires    time.Duration // registration lifetime asked for; 0 means 3600 s
	// Count runs this many devices with consecutive ids (serial +1 each);
	// 0 means 1. Channel serials follow on from the device's, without
	// overlap between devices.
	Count int
	// LocalIP is the address for SIP Via/Contact and media; "" means the
	// local address that routes to Server.
	LocalIP   string
	Name      string // device name; channels are "<Name>-通道<n>"; "" means DefaultName
	CivilCode string // region of the channels; "" means the first 6 digits of the device id
	Logger    *slog.Logger

	// DevicesPerSocket is how many devices share one SIP socket; 0 means
	// DefaultDevicesPerSocket, 1 gives each device its own.
	DevicesPerSocket int
	// RegisterRate paces the first registrations (per second, across all
	// devices); 0 starts them all at once.
	RegisterRate float64
	// CatalogPageSize is the items per catalog MESSAGE; 0 means 2.
	CatalogPageSize int

	// Interop behaviour, for the gateway's tests.
	AnswerWithoutSDP bool          // answer INVITE with 200 and no body
	NoPSM            bool          // leave the program stream map out of the PS
	DropMediaAfter   time.Duration // stop sending media this long into a session (the dialog stays)
	SendByeAfter     time.Duration // the device ends each session with BYE after this long
}

// Errors from Run.
var (
	ErrConfig = errors.New("sim: bad config")
)

func (c *Config) setDefaults() {
	if c.Domain == "" && len(c.PlatformID) >= 10 {
		c.Domain = c.PlatformID[:10]
	}
	if c.Channels <= 0 {
		c.Channels = 1
	}
	c.Transport = strings.ToLower(c.Transport)
	if c.Transport == "" {
		c.Transport = "udp"
	}
	if c.Keepalive <= 0 {
		c.Keepalive = DefaultKeepalive
	}
	if c.Expires <= 0 {
		c.Expires = DefaultExpires
	}
	if c.Count <= 0 {
		c.Count = 1
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.CivilCode == "" && len(c.DeviceID) >= 6 {
		c.CivilCode = c.DeviceID[:6]
	}
	if c.DevicesPerSocket <= 0 {
		c.DevicesPerSocket = DefaultDevicesPerSocket
	}
	if c.CatalogPageSize <= 0 {
		c.CatalogPageSize = DefaultCatalogPageSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func (c *Config) validate() error {
	bad := func(key, rule string) error { return fmt.Errorf("%w: %s %s", ErrConfig, key, rule) }
	if _, _, err := net.SplitHostPort(c.Server); err != nil {
		return bad("server", "must be host:port")
	}
	if !isID(c.PlatformID) {
		return bad("platform-id", "must be 20 digits")
	}
	if !isID(c.DeviceID) {
		return bad("device-id", "must be 20 digits")
	}
	if c.Transport != "udp" && c.Transport != "tcp" {
		return bad("transport", "must be udp or tcp")
	}
	if c.LocalIP != "" && net.ParseIP(c.LocalIP) == nil {
		return bad("local-ip", "must be an IP address")
	}
	serial, _ := strconv.Atoi(c.DeviceID[14:])
	if serial+c.Count*(c.Channels+1) > 999999 {
		return bad("count", "with channels overflows the 6-digit serial of device-id")
	}
	return nil
}

func isID(s string) bool {
	if len(s) != 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// deviceIDs returns device i's id and its channel ids: devices take
// consecutive serials; channels take the device id with type 131 (132 when
// the device itself is a 131 camera) and serials that follow the first
// device's, Channels per device (a single device's channels are serial+1..N).
func (c *Config) deviceIDs(i int) (string, []string) {
	base := c.DeviceID
	serial, _ := strconv.Atoi(base[14:])
	dev := fmt.Sprintf("%s%06d", base[:14], serial+i)
	typ := "131"
	if base[10:13] == "131" {
		typ = "132"
	}
	chans := make([]string, c.Channels)
	for k := range chans {
		chans[k] = fmt.Sprintf("%s%s%s%06d", base[:10], typ, base[13:14], serial+i*c.Channels+k+1)
	}
	return dev, chans
}

// resolveServer turns host:port into ip:port once, so gosip does not look
// up the name (with SRV queries) for every message.
func resolveServer(server string) (string, error) {
	a, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return "", fmt.Errorf("sim: resolve server %s: %w", server, err)
	}
	return a.String(), nil
}

// localIPFor returns the local address the system would use to reach server.
func localIPFor(server string) (string, error) {
	c, err := net.Dial("udp", server)
	if err != nil {
		return "", fmt.Errorf("sim: find local IP: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

// Run registers the devices and serves them until ctx ends, then
// unregisters them (Expires: 0) and returns nil. It returns early only when
// the configuration is wrong or a SIP socket cannot be opened.
func Run(ctx context.Context, cfg Config) error {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	server, err := resolveServer(cfg.Server)
	if err != nil {
		return err
	}
	cfg.Server = server
	if cfg.LocalIP == "" {
		ip, err := localIPFor(cfg.Server)
		if err != nil {
			return err
		}
		cfg.LocalIP = ip
	}
	var uas []*ua
	defer func() {
		for _, u := range uas {
			u.shutdown()
		}
	}()
	var devs []*device
	for i := range cfg.Count {
		if i%cfg.DevicesPerSocket == 0 {
			u, err := newUA(&cfg, len(uas))
			if err != nil {
				return err
			}
			uas = append(uas, u)
		}
		id, chans := cfg.deviceIDs(i)
		devs = append(devs, newDevice(ctx, uas[len(uas)-1], id, chans, i))
	}
	cfg.Logger.Info("gbsim started", "devices", cfg.Count, "channels", cfg.Channels, "sockets", len(uas),
		"server", cfg.Server, "transport", cfg.Transport, "local_ip", cfg.LocalIP)
	var wg sync.WaitGroup
	start := time.Now()
	for i, d := range devs {
		var delay time.Duration
		if cfg.RegisterRate > 0 {
			delay = time.Duration(float64(i) / cfg.RegisterRate * float64(time.Second))
		}
		wg.Go(func() { d.run(ctx, start.Add(delay)) })
	}
	wg.Wait()
	return nil
}
