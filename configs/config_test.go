package configs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExampleFileLoadsEqualToDefaults(t *testing.T) {
	got, err := Load("pingan.example.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Normalize()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("example file differs from Default():\n got  %+v\n want %+v", got, want)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != ":8080" || c.DataDir != "./data" || c.RTSP.Addr != ":8554" ||
		c.WebRTC.UDPPort != 8189 || c.WebRTC.TCPPort != 8189 || c.Media.IdleTimeout.D() != 30*time.Second {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.SIP.Domain != "3402000000" {
		t.Fatalf("domain = %q, want first 10 digits of sip.id", c.SIP.Domain)
	}
}

func TestEnvOverride(t *testing.T) {
	c, err := Load("", []string{
		"PINGAN_HTTP_ADDR=127.0.0.1:9090",
		"PINGAN_STORE_REDIS_URL=redis://127.0.0.1:6379/0",
		"PINGAN_MEDIA_IDLE_TIMEOUT=45s",
		"PINGAN_WEBRTC_PUBLIC_IPS=10.0.0.1, 10.0.0.2",
		"PINGAN_DATA_DIR=/var/lib/pingan",
		"PINGAN_DISPATCH_WORKING_DAYS=true",
		"HOME=/root",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:9090" || c.Store.Redis.URL != "redis://127.0.0.1:6379/0" ||
		c.Media.IdleTimeout.D() != 45*time.Second || !c.Dispatch.WorkingDays || c.DataDir != "/var/lib/pingan" {
		t.Fatalf("env not applied: %+v", c)
	}
	if !reflect.DeepEqual(c.WebRTC.PublicIPs, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Fatalf("public_ips = %v", c.WebRTC.PublicIPs)
	}
	if c.Record.Dir != "/var/lib/pingan/recordings" {
		t.Fatalf("record.dir = %q", c.Record.Dir)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := writeFile(t, "http:\n  addr: \":7000\"\n")
	c, err := Load(path, []string{"PINGAN_HTTP_ADDR=:7001"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != ":7001" {
		t.Fatalf("addr = %q, want the environment to win", c.HTTP.Addr)
	}
}

// configErrorCases maps a YAML snippet (or env) to the error it must produce.
var configErrorCases = []struct {
	name string
	yaml string
	env  []string
	want string
}{
	{"unknown top key", "colour: red\n", nil, "colour: unknown key"},
	{"unknown nested key", "http:\n  adress: \":80\"\n", nil, "http.adress: unknown key"},
	{"bad duration", "media:\n  idle_timeout: soon\n", nil, "media.idle_timeout: bad duration"},
	{"bad int", "webrtc:\n  udp_port: many\n", nil, "webrtc.udp_port:"},
	{"port range", "webrtc:\n  udp_port: 70000\n", nil, "webrtc.udp_port: want 1-65535"},
	{"bad addr", "http:\n  addr: nowhere\n", nil, "http.addr: want host:port"},
	{"sip id", "sip:\n  id: \"123\"\n", nil, "sip.id: want 20 digits"},
	{"redis url", "store:\n  redis:\n    url: \"http://x\"\n", nil, "store.redis.url"},
	{"source url", "sources:\n  - name: a\n    url: http://x\n", nil, "sources[0].url"},
	{"source unknown key", "sources:\n  - name: a\n    uri: rtsp://x/y\n", nil, "sources[0].uri: unknown key"},
	{"dup source", "sources:\n  - {name: a, url: \"rtsp://h/1\"}\n  - {name: a, url: \"rtsp://h/2\"}\n", nil, "sources[1].name: duplicate"},
	{"case type stage", "dispatch:\n  case_types:\n    - {id: x, name: X, limits: {brew: 1h}}\n", nil, "dispatch.case_types[0].limits.brew: unknown stage"},
	{"case type limit", "dispatch:\n  case_types:\n    - {id: x, name: X, limits: {handle: 3x}}\n", nil, "dispatch.case_types[0].limits.handle"},
	{"yellow share", "dispatch:\n  yellow_share: 2\n", nil, "dispatch.yellow_share"},
	{"rtp ports", "media:\n  rtp_ports: 500-100\n", nil, "media.rtp_ports"},
	{"transport", "media:\n  transport: carrier-pigeon\n", nil, "media.transport: want one of"},
	{"timezone", "timezone: Mars/Olympus\n", nil, "timezone: unknown time zone"},
	{"env bad duration", "", []string{"PINGAN_AUTH_TOKEN_TTL=forever"}, "PINGAN_AUTH_TOKEN_TTL (auth.token_ttl): bad duration"},
	{"env unknown", "", []string{"PINGAN_HTTP_ADRESS=:1"}, "PINGAN_HTTP_ADRESS: unknown configuration variable"},
	{"not a mapping", "http: 5\n", nil, "http: want a mapping"},
	{"yaml syntax", "http: [\n", nil, "parse YAML"},
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range configErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = writeFile(t, tc.yaml)
			}
			_, err := Load(path, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	c, err := Load(writeFile(t, "# nothing\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != ":8080" {
		t.Fatalf("addr = %q", c.HTTP.Addr)
	}
}

func FuzzDecodeYAML(f *testing.F) {
	for _, tc := range configErrorCases {
		f.Add([]byte(tc.yaml))
	}
	if b, err := os.ReadFile("pingan.example.yaml"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		if err := DecodeYAML(data, &c); err != nil {
			return
		}
		c.Normalize()
		_ = c.Validate() // must not panic
	})
}

func writeFile(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pingan.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
