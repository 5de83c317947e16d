package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"pingan/configs"
	"pingan/gateway/gb28181/sim"
)

// gbHubConfig: a password for every device, short keepalive, idle and
// media timeouts so liveness, BYE and re-INVITE happen within seconds.
func gbHubConfig(c *configs.Config) {
	c.SIP.Password = "gbsim-Pa55"
	c.SIP.KeepaliveInterval = configs.Duration(time.Second)
	c.SIP.KeepaliveMissed = 3
	c.Media.IdleTimeout = configs.Duration(time.Second)
	c.Media.MediaTimeout = configs.Duration(2 * time.Second)
	c.Media.RTPPorts = "33000-33499"
}

// TestGB28181EndToEnd: gbsim devices register with a whole hub over
// loopback SIP; their catalogs reach the API; channels play over WHEP
// through UDP, TCP passive and TCP active; the session ends with BYE after
// idle; PTZ reaches the device.
func TestGB28181EndToEnd(t *testing.T) {
	h := startHub(t, false, gbHubConfig)
	const dev = "34020000001320000001"
	log := h.startSim(sim.Config{DeviceID: dev, Channels: 2, Keepalive: 300 * time.Millisecond, Name: "测试摄像机", CivilCode: "140105"})
	chs := h.waitDevice(dev, 2)
	for _, c := range chs {
		if c.StreamID != "gb/"+c.ID || !strings.HasPrefix(c.Name, "测试摄像机-通道") || c.CivilCode != "140105" || c.Longitude == 0 {
			t.Errorf("channel %+v", c)
		}
	}
	ch := chs[0].ID

	for _, mode := range []string{"udp", "tcp-passive", "tcp-active"} {
		t.Run(mode, func(t *testing.T) {
			if code := h.call("PATCH", "/api/v1/devices/"+dev, h.admin, map[string]string{"transport": mode}, nil); code != 200 {
				t.Fatalf("PATCH transport: %d", code)
			}
			invites := log.count("INVITE answered")
			v := h.play("gb/" + ch)
			first := v.waitKeyframe(t)
			v.waitFrames(t, 25, 5*time.Second)
			t.Logf("%s: WHEP POST → first keyframe packet %s", mode, first)
			if n := log.count("INVITE answered", "mode="+simMode(mode)); n == 0 {
				t.Errorf("device saw no %s INVITE", mode)
			}
			if log.count("INVITE answered") != invites+1 {
				t.Errorf("INVITEs: %d, want one more than %d", log.count("INVITE answered"), invites)
			}
			// A second viewer shares the dialog.
			v2 := h.play("gb/" + ch)
			v2.waitKeyframe(t)
			if log.count("INVITE answered") != invites+1 {
				t.Errorf("second viewer made another INVITE")
			}
			stopped := log.count("stream stopped")
			h.stopViewer(v)
			h.stopViewer(v2)
			eventually(t, 10*time.Second, "BYE after idle", func() bool {
				return log.count("stream stopped") > stopped && !h.streamListed("gb/"+ch)
			})
		})
	}

	t.Run("ptz", func(t *testing.T) {
		code := h.call("POST", "/api/v1/devices/"+dev+"/channels/"+ch+"/ptz", h.admin, map[string]any{"action": "left", "speed": 100}, nil)
		if code/100 != 2 {
			t.Fatalf("PTZ: %d", code)
		}
		eventually(t, 5*time.Second, "the device to log PTZ left", func() bool {
			return log.count("PTZ", "channel="+ch, "action=left") > 0
		})
		code = h.call("POST", "/api/v1/devices/"+dev+"/channels/"+ch+"/ptz", h.admin, map[string]any{"action": "stop"}, nil)
		if code/100 != 2 {
			t.Fatalf("PTZ stop: %d", code)
		}
		eventually(t, 5*time.Second, "the device to log PTZ stop", func() bool {
			return log.count("PTZ", "channel="+ch, "action=stop") > 0
		})
	})
}

// simMode is how gbsim names the hub's transport in its logs.
func simMode(hub string) string {
	switch hub {
	case "tcp-passive":
		return "tcp-dial"
	case "tcp-active":
		return "tcp-listen"
	}
	return hub
}

// TestGB28181Resilience: a media drop makes the hub INVITE again while the
// viewer stays; a device that answers without SDP and sends PS without a
// PSM still plays; a device that stops keeping alive goes offline.
func TestGB28181Resilience(t *testing.T) {
	h := startHub(t, false, gbHubConfig)

	t.Run("re-INVITE after media drop", func(t *testing.T) {
		const dev = "34020000001320000101"
		log := h.startSim(sim.Config{DeviceID: dev, Keepalive: 300 * time.Millisecond, DropMediaAfter: 1500 * time.Millisecond})
		ch := h.waitDevice(dev, 1)[0].ID
		v := h.play("gb/" + ch)
		v.waitKeyframe(t)
		eventually(t, 15*time.Second, "a second INVITE after the drop", func() bool {
			return log.count("media dropped (simulated)") > 0 && log.count("INVITE answered") >= 2
		})
		v.waitFrames(t, 10, 10*time.Second) // video resumes for the same viewer
		h.stopViewer(v)
	})

	t.Run("200 without SDP and PS without PSM", func(t *testing.T) {
		const dev = "34020000001320000201"
		log := h.startSim(sim.Config{DeviceID: dev, Keepalive: 300 * time.Millisecond, AnswerWithoutSDP: true, NoPSM: true})
		ch := h.waitDevice(dev, 1)[0].ID
		for _, mode := range []string{"udp", "tcp-active"} {
			if code := h.call("PATCH", "/api/v1/devices/"+dev, h.admin, map[string]string{"transport": mode}, nil); code != 200 {
				t.Fatalf("PATCH transport: %d", code)
			}
			v := h.play("gb/" + ch)
			v.waitKeyframe(t)
			v.waitFrames(t, 10, 5*time.Second)
			h.stopViewer(v)
			eventually(t, 10*time.Second, "BYE after idle", func() bool { return !h.streamListed("gb/" + ch) })
		}
		if log.count("INVITE answered", "sdp=false") < 2 {
			t.Errorf("the device did not answer without SDP")
		}
	})

	t.Run("offline after missed keepalives", func(t *testing.T) {
		const dev = "34020000001320000301"
		h.startSim(sim.Config{DeviceID: dev, Keepalive: time.Minute}) // hub expects one every second
		h.waitDevice(dev, 1)
		eventually(t, 10*time.Second, "the device to go offline", func() bool {
			d, _ := h.device(dev)
			return !d.Online
		})
	})
}

// TestDemoIsGB28181: `serve --demo` runs gbsim devices that register over
// loopback SIP; demo/1 is an alias of a gb/{channel} stream and plays.
func TestDemoIsGB28181(t *testing.T) {
	h := startHub(t, true, nil)
	var out struct {
		Devices []deviceJSON `json:"devices"`
	}
	eventually(t, 10*time.Second, "two demo devices online with two channels each", func() bool {
		h.call("GET", "/api/v1/devices", h.admin, nil, &out)
		n := 0
		for _, d := range out.Devices {
			if d.Online && d.ChannelCount == 2 && d.Region == "140105" {
				n++
			}
		}
		return n == 2
	})
	v := h.play("demo/1")
	first := v.waitKeyframe(t)
	v.waitFrames(t, 25, 5*time.Second)
	t.Logf("demo/1: WHEP POST → first keyframe packet %s", first)
	if !h.streamListed("gb/14010500001310000002") {
		t.Error("demo/1 is not played through gb/14010500001310000002")
	}
	h.stopViewer(v)
}

// TestDeviceProvisioning: an administrator enters a camera with its own
// digest password before it is installed; it is listed offline, then
// registers with that password (and not with the shared one) and plays
// with the transport set at creation. Ids are checked, duplicates refused,
// and a region-scoped administrator cannot create outside their region.
func TestDeviceProvisioning(t *testing.T) {
	h := startHub(t, false, gbHubConfig)
	const dev = "14010500001320000777"
	body := map[string]string{"id": dev, "name": "东门卡口", "password": "own-Pa55", "transport": "tcp-active"}
	var created struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Online      bool   `json:"online"`
		Transport   string `json:"transport"`
		Region      string `json:"region"`
		HasPassword bool   `json:"has_password"`
	}
	if code := h.call("POST", "/api/v1/devices", h.admin, body, &created); code != 201 {
		t.Fatalf("POST /api/v1/devices: %d", code)
	}
	if created.ID != dev || created.Name != "东门卡口" || created.Online || created.Transport != "tcp-active" || created.Region != "140105" || !created.HasPassword {
		t.Fatalf("created %+v", created)
	}
	if code := h.call("POST", "/api/v1/devices", h.admin, body, nil); code != 409 {
		t.Errorf("second POST: %d, want 409", code)
	}
	for _, bad := range []map[string]string{
		{"id": "1234"},
		{"id": "14010500001320000778", "transport": "carrier-pigeon"},
	} {
		if code := h.call("POST", "/api/v1/devices", h.admin, bad, nil); code != 400 {
			t.Errorf("POST %v: %d, want 400", bad, code)
		}
	}
	if _, code := h.device("14010500001320000778"); code != 404 {
		t.Errorf("a rejected device was left behind: GET %d", code)
	}

	// A scoped administrator of Datong (1402) may not create a Taiyuan device.
	if code := h.call("POST", "/api/v1/users", h.admin, map[string]string{"username": "admin-datong", "password": "datong-pass-1", "role": "admin", "region": "1402"}, nil); code != 201 {
		t.Fatalf("create scoped admin: %d", code)
	}
	scoped := h.login("admin-datong", "datong-pass-1")
	if code := h.call("POST", "/api/v1/devices", scoped, map[string]string{"id": "14010500001320000779"}, nil); code != 403 {
		t.Errorf("out-of-scope POST: %d, want 403", code)
	}

	// With the shared password the device is refused; with its own it registers.
	ctx, cancel := context.WithCancel(context.Background())
	wrong := h.startSimCtx(ctx, sim.Config{DeviceID: dev, Keepalive: 300 * time.Millisecond})
	eventually(t, 10*time.Second, "the shared password to be refused", func() bool {
		return wrong.count("register failed") > 0
	})
	if d, _ := h.device(dev); d.Online {
		t.Fatal("the device registered with the shared password although it has its own")
	}
	cancel()
	h.startSim(sim.Config{DeviceID: dev, Keepalive: 300 * time.Millisecond, Password: "own-Pa55"})
	ch := h.waitDevice(dev, 1)[0].ID
	v := h.play("gb/" + ch)
	v.waitKeyframe(t)
	h.stopViewer(v)
}
