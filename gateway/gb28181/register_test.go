package gb28181

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"pingan/gateway/gb28181/manscdp"
)

// The worked example of digest §3.
func TestDigestWorkedExample(t *testing.T) {
	c := digestCreds{
		Username: "51010700001180000007", Realm: "5101070000", Nonce: "6c1f0e2a9d3b4c5e",
		URI: "sip:51010700002000000001@5101070000", Algorithm: "MD5",
	}
	if got := md5hex(c.Username + ":" + c.Realm + ":Pa55word"); got != "9d61ac3ed3c2d3f597b5b8e9426d0a43" {
		t.Errorf("HA1 = %s", got)
	}
	if got := md5hex("REGISTER:" + c.URI); got != "ec99b2e9921d73c4589d321a6045d355" {
		t.Errorf("HA2 = %s", got)
	}
	c.Response = "add0f7e78f1122f1472ed6bcadc3c1de"
	if !checkDigest(c, "Pa55word", "REGISTER") {
		t.Error("worked example rejected")
	}
	c.Response = strings.ToUpper(c.Response)
	if !checkDigest(c, "Pa55word", "REGISTER") {
		t.Error("upper-case hex rejected")
	}
	if checkDigest(c, "wrong", "REGISTER") {
		t.Error("wrong password accepted")
	}
	c.Algorithm = "SHA-256"
	if checkDigest(c, "Pa55word", "REGISTER") {
		t.Error("non-MD5 algorithm accepted")
	}
}

func TestRegionOf(t *testing.T) {
	for _, tc := range []struct{ civil, id, want string }{
		{"510107", "51010700001310000023", "510107"},
		{"", "51010700001310000023", "510107"},
		{"", "34020000001320000001", "3402"},
		{"14010500", "34020000001320000001", "140105"},
		{"1401", "34020000001320000001", "1401"},
		{"abc", "14010500001320000001", "140105"},
		{"", "ABC", ""},
	} {
		if got := regionOf(tc.civil, DeviceID(tc.id)); got != tc.want {
			t.Errorf("regionOf(%q, %q) = %q, want %q", tc.civil, tc.id, got, tc.want)
		}
	}
}

func TestRegister(t *testing.T) {
	ts := startServer(t, nil)
	ua := newUA(t, ts.addr, "34020000001320000001")
	events := ts.Events(t.Context())

	res := ua.request("REGISTER", "Expires: 3600\r\n", nil, ua.callID)
	if res.status != 401 {
		t.Fatalf("no auth: status %d, want 401", res.status)
	}
	ch := res.hdr.Get("Www-Authenticate")
	if !regexp.MustCompile(`^Digest realm="3402000000",nonce="[0-9a-f]{32}",algorithm=MD5$`).MatchString(ch) {
		t.Errorf("challenge %q", ch)
	}
	res = ua.request("REGISTER", "Expires: 3600\r\n"+ua.authorization(res, "REGISTER"), nil, ua.callID)
	if res.status != 200 {
		t.Fatalf("digest: status %d, want 200", res.status)
	}
	if d := res.hdr.Get("Date"); d != "2025-03-08T14:02:11.000" {
		t.Errorf("Date %q, want the clock's local time with ms", d)
	}
	if e := res.hdr.Get("Expires"); e != "3600" {
		t.Errorf("Expires %q", e)
	}
	dev, err := ts.Device(t.Context(), "34020000001320000001")
	if err != nil {
		t.Fatal(err)
	}
	if !dev.Online || dev.RemoteAddr != ua.addr() || dev.SIPTransport != "udp" || dev.Region != "3402" || dev.Transport != "tcp-passive" {
		t.Errorf("device %+v", dev)
	}
	want := []EventType{EventRegistered, EventOnline}
	for _, w := range want {
		select {
		case ev := <-events:
			if ev.Type != w || ev.DeviceID != dev.ID || ev.Region != "3402" {
				t.Errorf("event %+v, want %s", ev, w)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("no %s event", w)
		}
	}

	// A replayed nonce is challenged again (single use), stale=true as the digest was right.
	res = ua.request("REGISTER", "Expires: 3600\r\n"+ua.authorization(&sipMsg{hdr: res.hdr}, "REGISTER"), nil, ua.callID)
	if res.status != 401 {
		t.Errorf("reused/unknown nonce: status %d, want 401", res.status)
	}

	// Expires 0 is challenged too, then unregisters.
	res = ua.request("REGISTER", "Expires: 0\r\n", nil, ua.callID)
	if res.status != 401 {
		t.Fatalf("unregister without auth: %d, want 401", res.status)
	}
	res = ua.request("REGISTER", "Expires: 0\r\n"+ua.authorization(res, "REGISTER"), nil, ua.callID)
	if res.status != 200 || res.hdr.Get("Expires") != "0" {
		t.Fatalf("unregister: %d Expires %q", res.status, res.hdr.Get("Expires"))
	}
	if dev, _ := ts.Device(t.Context(), dev.ID); dev.Online {
		t.Error("still online after unregister")
	}
}

func TestRegisterWrongPasswordAndThrottle(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.AuthFailLimit = 3 })
	ua := newUA(t, ts.addr, "34020000001320000002")
	ua.password = "nope"
	for i := range 3 {
		if res := ua.register(3600); res.status != 403 {
			t.Fatalf("attempt %d: status %d, want 403", i, res.status)
		}
	}
	res := ua.request("REGISTER", "Expires: 3600\r\n", nil, ua.callID)
	if res.status != 503 || res.hdr.Get("Retry-After") == "" {
		t.Fatalf("throttled: status %d Retry-After %q, want 503 with Retry-After", res.status, res.hdr.Get("Retry-After"))
	}
	// The window passes on the server's clock.
	ts.clock.Advance(2 * time.Minute)
	ua.password = testPassword
	if res := ua.register(3600); res.status != 200 {
		t.Fatalf("after the window: status %d, want 200", res.status)
	}
}

func TestPerDevicePassword(t *testing.T) {
	ts := startServer(t, nil)
	ua := newUA(t, ts.addr, "34020000001320000003")
	if res := ua.register(3600); res.status != 200 {
		t.Fatalf("status %d", res.status)
	}
	pw := "DevicePass1"
	if _, err := ts.UpdateDevice(t.Context(), "34020000001320000003", DeviceUpdate{Password: &pw}); err != nil {
		t.Fatal(err)
	}
	if res := ua.register(3600); res.status != 403 {
		t.Errorf("global password after per-device one set: %d, want 403", res.status)
	}
	ua.password = pw
	if res := ua.register(3600); res.status != 200 {
		t.Errorf("per-device password: %d, want 200", res.status)
	}
}

func TestNoPasswordRefused(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.SIP.Password = "" })
	ua := newUA(t, ts.addr, "34020000001320000004")
	if res := ua.request("REGISTER", "Expires: 3600\r\n", nil, ua.callID); res.status != 403 {
		t.Errorf("unknown device without any password: %d, want 403", res.status)
	}
}

func keepaliveBody(id string, sn int) []byte {
	return fmt.Appendf(nil, "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Notify>\r\n<CmdType>Keepalive</CmdType>\r\n<SN>%d</SN>\r\n<DeviceID>%s</DeviceID>\r\n<Status>OK</Status>\r\n</Notify>\r\n", sn, id)
}

// A keepalive from a new ip:port (NAT rebinding) moves the device's
// address, and our next request goes there.
func TestKeepaliveNATRebinding(t *testing.T) {
	ts := startServer(t, nil)
	id := "34020000001320000005"
	ua := newUA(t, ts.addr, id)
	if res := ua.register(3600); res.status != 200 {
		t.Fatalf("status %d", res.status)
	}
	ua2 := newUA(t, ts.addr, id) // same device, new source port
	ts.clock.Advance(30 * time.Second)
	if res := ua2.message(keepaliveBody(id, 7)); res.status != 200 {
		t.Fatalf("keepalive: %d", res.status)
	}
	waitFor(t, "address update", func() bool {
		d, _ := ts.Device(t.Context(), DeviceID(id))
		return d.RemoteAddr == ua2.addr()
	})
	d, _ := ts.Device(t.Context(), DeviceID(id))
	if !d.LastKeepalive.Equal(ts.clock.Now()) {
		t.Errorf("LastKeepalive %v", d.LastKeepalive)
	}
	ua2.handle(func(ua *testUA, m *sipMsg) {
		ua.respond(m, 200, "")
		if strings.Contains(string(m.body), "DeviceInfo") {
			body := fmt.Appendf(nil, "<?xml version=\"1.0\"?><Response><CmdType>DeviceInfo</CmdType><SN>%s</SN><DeviceID>%s</DeviceID><Result>OK</Result><DeviceName>cam</DeviceName><Manufacturer>Hik</Manufacturer></Response>", snOf(m.body), id)
			go ua.message(body)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	m, err := ts.Query(ctx, DeviceID(id), manscdp.CmdDeviceInfo, nil)
	if err != nil {
		t.Fatalf("query via the new address: %v", err)
	}
	if m.DeviceInfo().Manufacturer != "Hik" {
		t.Errorf("response %+v", m.DeviceInfo())
	}
}

func TestOfflineAfterMissedKeepalives(t *testing.T) {
	ts := startServer(t, nil)
	id := "34020000001320000006"
	ua := newUA(t, ts.addr, id)
	events := ts.Events(t.Context())
	if res := ua.register(3600); res.status != 200 {
		t.Fatalf("status %d", res.status)
	}
	ts.clock.Advance(150 * time.Second)
	if res := ua.message(keepaliveBody(id, 1)); res.status != 200 {
		t.Fatal(res.status)
	}
	waitFor(t, "keepalive", func() bool {
		d, _ := ts.Device(t.Context(), DeviceID(id))
		return d.LastKeepalive.Equal(ts.clock.Now())
	})
	ts.clock.Advance(179 * time.Second) // 3 × 60 s after the keepalive, less a second
	ts.sweep(t.Context())
	if d, _ := ts.Device(t.Context(), DeviceID(id)); !d.Online {
		t.Fatal("offline before 3 missed intervals")
	}
	ts.clock.Advance(2 * time.Second)
	ts.sweep(t.Context())
	if d, _ := ts.Device(t.Context(), DeviceID(id)); d.Online {
		t.Fatal("still online after 3 missed intervals")
	}
	for {
		select {
		case ev := <-events:
			if ev.Type == EventOffline {
				if ev.Reason != "keepalive" || ev.DeviceID != DeviceID(id) {
					t.Errorf("event %+v", ev)
				}
				return
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no offline event")
		}
	}
}

func TestOfflineWhenRegistrationExpires(t *testing.T) {
	ts := startServer(t, nil)
	id := "34020000001320000007"
	ua := newUA(t, ts.addr, id)
	if res := ua.register(100); res.status != 200 || res.hdr.Get("Expires") != "100" {
		t.Fatalf("status %d Expires %q", res.status, res.hdr.Get("Expires"))
	}
	ts.clock.Advance(90 * time.Second)
	ua.message(keepaliveBody(id, 1))
	waitFor(t, "keepalive", func() bool {
		d, _ := ts.Device(t.Context(), DeviceID(id))
		return d.LastKeepalive.Equal(ts.clock.Now())
	})
	ts.clock.Advance(11 * time.Second)
	ts.sweep(t.Context())
	if d, _ := ts.Device(t.Context(), DeviceID(id)); d.Online {
		t.Fatal("online after the registration expired")
	}
	// A keepalive does not revive it by default …
	ua.message(keepaliveBody(id, 2))
	time.Sleep(50 * time.Millisecond)
	if d, _ := ts.Device(t.Context(), DeviceID(id)); d.Online {
		t.Fatal("revived by a keepalive")
	}
	// … a REGISTER does.
	if res := ua.register(3600); res.status != 200 {
		t.Fatal(res.status)
	}
	if d, _ := ts.Device(t.Context(), DeviceID(id)); !d.Online {
		t.Fatal("not online after re-register")
	}
}

// A device on TCP is reached over its own connection, and an answer that
// comes back within microseconds is matched (see txrace.go).
func TestTCPDevice(t *testing.T) {
	ts := startServer(t, nil)
	id := "34020000001320000008"
	ua := newUAOn(t, "tcp", ts.addr, id)
	if res := ua.register(3600); res.status != 200 {
		t.Fatalf("register over TCP: %d", res.status)
	}
	d, _ := ts.Device(t.Context(), DeviceID(id))
	if d.SIPTransport != "tcp" || d.RemoteAddr != ua.addr() {
		t.Fatalf("device %+v", d)
	}
	if res := ua.message(keepaliveBody(id, 3)); res.status != 200 {
		t.Fatalf("keepalive over TCP: %d", res.status)
	}
	ua.handle(func(ua *testUA, m *sipMsg) {
		ua.respond(m, 200, "")
		if strings.Contains(string(m.body), "DeviceStatus") {
			body := fmt.Appendf(nil, "<?xml version=\"1.0\"?><Response><CmdType>DeviceStatus</CmdType><SN>%s</SN><DeviceID>%s</DeviceID><Result>OK</Result><Online>ONLINE</Online><Status>OK</Status></Response>", snOf(m.body), id)
			go ua.message(body)
		}
	})
	for i := range 5 {
		start := time.Now()
		m, err := ts.Query(t.Context(), DeviceID(id), manscdp.CmdDeviceStatus, nil)
		if err != nil {
			t.Fatalf("query %d over TCP: %v", i, err)
		}
		if el := time.Since(start); el > 300*time.Millisecond || m.DeviceStatus().Online != "ONLINE" {
			t.Errorf("query %d: %v after %v", i, m.DeviceStatus(), el)
		}
	}
	// PTZ needs a channel: give the device one through a catalog notify.
	notify := catalogXML("Notify", "5", id, 1, testItem{id: "34020000001310000008", name: "ptz", event: "ADD", status: "ON"})
	if res := ua.message([]byte(notify)); res.status != 200 {
		t.Fatal(res.status)
	}
	waitFor(t, "channel", func() bool { _, _, err := ts.Channel(t.Context(), "34020000001310000008"); return err == nil })
	if err := ts.PTZ(t.Context(), "34020000001310000008", "right", 0x80); err != nil {
		t.Fatal(err)
	}
	m := ua.waitRequest("MESSAGE", "PTZCmd", 2*time.Second)
	if !strings.Contains(string(m.body), "<PTZCmd>A50F010180000036</PTZCmd>") || !strings.Contains(string(m.body), "<DeviceID>34020000001310000008</DeviceID>") {
		t.Errorf("PTZ body %s", m.body)
	}
	if err := ts.Preset(t.Context(), "34020000001310000008", "goto", 3); err != nil {
		t.Fatal(err)
	}
	ua.waitRequest("MESSAGE", "<PTZCmd>A50F01820003003A</PTZCmd>", 2*time.Second)
	if err := ts.KeyframeRequest(t.Context(), "34020000001310000008"); err != nil {
		t.Fatal(err)
	}
	ua.waitRequest("MESSAGE", "<IFameCmd>Send</IFameCmd>", 2*time.Second)
	if err := ts.PTZ(t.Context(), "34020000001310000008", "sideways", 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad action: %v", err)
	}
}
