package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"pingan/gateway/gb28181"
	"pingan/gateway/gb28181/sim"
	"pingan/media"
)

// The --demo cameras are simulated GB28181 devices (gbsim) that register
// with this hub's own SIP server over loopback, so a newcomer's first video
// takes the real path: REGISTER with digest, Catalog, INVITE, PS over RTP,
// demux, WebRTC. Two NVRs of Xiaodian district (140105) with two cameras
// each; demo/1 … demo/4 are aliases of their gb/{channel} streams.
var demoDevices = []struct {
	id, name string
}{
	{"14010500001180000001", "坞城路派出所"},
	{"14010500001180000011", "小店街道综治中心"},
}

const (
	demoChannels  = 2 // cameras per demo device
	demoCivilCode = "140105"
	demoKeepalive = 30 * time.Second
)

// demoChannelIDs are the channel ids gbsim gives a device: the device id
// with type 131 and the serials that follow the device's.
func demoChannelIDs(deviceID string) []string {
	var serial int
	_, _ = fmt.Sscanf(deviceID[14:], "%d", &serial)
	out := make([]string, demoChannels)
	for k := range out {
		out[k] = fmt.Sprintf("%s131%s%06d", deviceID[:10], deviceID[13:14], serial+k+1)
	}
	return out
}

// runDemo provisions the demo devices (each with its own random password),
// aliases demo/N to their channels and runs them as gbsim devices until
// ctx ends; they unregister on the way out.
func (h *Hub) runDemo(ctx context.Context) error {
	server, localIP := demoSIPTarget(h.cfg.SIP.Addr)
	n := 0
	cfgs := make([]sim.Config, 0, len(demoDevices))
	for _, d := range demoDevices {
		pw, err := demoPassword()
		if err != nil {
			return err
		}
		var chans []gb28181.Channel
		for k, ch := range demoChannelIDs(d.id) {
			n++
			chans = append(chans, gb28181.Channel{
				ID: gb28181.DeviceID(ch), Name: fmt.Sprintf("%s-通道%d", d.name, k+1), CivilCode: demoCivilCode,
			})
			name, target := media.StreamID(fmt.Sprintf("demo/%d", n)), media.StreamID(gb28181.StreamID(gb28181.DeviceID(ch)))
			h.media.Alias(name, target)
			h.access.alias(name, target)
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = h.gb.Provision(pctx, gb28181.Provisioning{ID: gb28181.DeviceID(d.id), Password: pw, Name: d.name, Channels: chans})
		cancel()
		if err != nil {
			return fmt.Errorf("demo device %s: %w", d.id, err)
		}
		cfgs = append(cfgs, sim.Config{
			Server: server, PlatformID: string(h.gb.PlatformID()), Domain: h.gb.Domain(), DeviceID: d.id,
			Password: pw, Channels: demoChannels, Keepalive: demoKeepalive, LocalIP: localIP,
			// SIP over TCP: when the hub stops, its closed connection fails
			// the devices' unREGISTER at once (over UDP gosip would wait out
			// timer F, 32 s, since it cannot cancel a non-INVITE request).
			Transport: "tcp",
			Name:      d.name,
			CivilCode: demoCivilCode,
			Logger:    h.log.With("part", "demo-gbsim"),
		})
	}
	if err := waitSIP(ctx, h.gb); err != nil {
		return err
	}
	h.log.Info("demo cameras registering over loopback SIP", "devices", len(cfgs), "streams", n, "sip", server)
	var wg sync.WaitGroup
	errs := make([]error, len(cfgs))
	for i, c := range cfgs {
		wg.Go(func() { errs[i] = sim.Run(ctx, c) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// demoSIPTarget is where the demo devices send SIP: loopback when the hub
// listens on all addresses or on loopback, else the listen address.
func demoSIPTarget(addr string) (server, localIP string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, ""
	}
	ip := net.ParseIP(host)
	if host == "" || ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		return net.JoinHostPort("127.0.0.1", port), "127.0.0.1"
	}
	return addr, ""
}

// waitSIP waits until the SIP server listens (it starts beside the demo).
func waitSIP(ctx context.Context, gb *gb28181.Server) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for gb.SIP() == nil {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	return nil
}

func demoPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("demo password: %w", err)
	}
	return hex.EncodeToString(b), nil
}
