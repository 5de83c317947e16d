package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"pingan/internal/auth"
)

// devAuth maps tokens to principals with different roles and scopes.
type devAuth struct{}

func (devAuth) Authenticate(_ context.Context, tok string) (auth.Principal, error) {
	switch tok {
	case "admin":
		return auth.Principal{Username: "root", Role: auth.RoleAdmin}, nil
	case "op-taiyuan":
		return auth.Principal{Username: "op", Role: auth.RoleOperator, Region: "1401"}, nil
	case "admin-xiaodian":
		return auth.Principal{Username: "ad", Role: auth.RoleAdmin, Region: "140105"}, nil
	case "trainee":
		return auth.Principal{Username: "tr", Role: auth.RoleTrainee}, nil
	}
	return auth.Principal{}, auth.ErrInvalidToken
}

// fakeDevices is a DeviceService with one function field per method.
type fakeDevices struct {
	devices        func(ctx context.Context) ([]DeviceInfo, error)
	device         func(ctx context.Context, id string) (DeviceInfo, error)
	channels       func(ctx context.Context, deviceID string) ([]ChannelInfo, error)
	channel        func(ctx context.Context, channelID string) (ChannelInfo, error)
	refreshCatalog func(ctx context.Context, id string) (CatalogSummary, error)
	updateDevice   func(ctx context.Context, id string, p DevicePatch) (DeviceInfo, error)
	deleteDevice   func(ctx context.Context, id string) error
	ptz            func(ctx context.Context, channelID, action string, speed int) error
	preset         func(ctx context.Context, channelID, action string, index int) error
}

func (f *fakeDevices) Devices(ctx context.Context) ([]DeviceInfo, error) { return f.devices(ctx) }
func (f *fakeDevices) Device(ctx context.Context, id string) (DeviceInfo, error) {
	return f.device(ctx, id)
}
func (f *fakeDevices) Channels(ctx context.Context, id string) ([]ChannelInfo, error) {
	return f.channels(ctx, id)
}
func (f *fakeDevices) Channel(ctx context.Context, id string) (ChannelInfo, error) {
	return f.channel(ctx, id)
}
func (f *fakeDevices) RefreshCatalog(ctx context.Context, id string) (CatalogSummary, error) {
	return f.refreshCatalog(ctx, id)
}
func (f *fakeDevices) UpdateDevice(ctx context.Context, id string, p DevicePatch) (DeviceInfo, error) {
	return f.updateDevice(ctx, id, p)
}

// CreateDevice is exercised against the real gateway in internal/e2e.
func (f *fakeDevices) CreateDevice(context.Context, NewDevice, func(string) bool) (DeviceInfo, error) {
	return DeviceInfo{}, ErrDeviceInvalid
}
func (f *fakeDevices) DeleteDevice(ctx context.Context, id string) error {
	return f.deleteDevice(ctx, id)
}
func (f *fakeDevices) PTZ(ctx context.Context, ch, action string, speed int) error {
	return f.ptz(ctx, ch, action, speed)
}
func (f *fakeDevices) Preset(ctx context.Context, ch, action string, index int) error {
	return f.preset(ctx, ch, action, index)
}

// Two devices: one in Xiaodian (140105, Taiyuan), one in Datong (1402).
// The Xiaodian NVR has a channel in 140105 and one in 140106.
var (
	devXiaodian = DeviceInfo{ID: "14010500001180000001", Name: "NVR 小店", Online: true, Transport: "tcp-passive", Region: "140105", ChannelCount: 2}
	devDatong   = DeviceInfo{ID: "14020000001320000001", Name: "IPC", Region: "1402"}
	chA         = ChannelInfo{ID: "14010500001310000001", DeviceID: devXiaodian.ID, Name: "东门", Region: "140105", StreamID: "gb/14010500001310000001"}
	chB         = ChannelInfo{ID: "14010600001310000002", DeviceID: devXiaodian.ID, Name: "西门", Region: "140106", StreamID: "gb/14010600001310000002"}
)

type devCall struct {
	what, id, arg string
	n             int
}

func newFakeDevices(calls *[]devCall) *fakeDevices {
	devs := map[string]DeviceInfo{devXiaodian.ID: devXiaodian, devDatong.ID: devDatong}
	chans := map[string]ChannelInfo{chA.ID: chA, chB.ID: chB}
	return &fakeDevices{
		devices: func(context.Context) ([]DeviceInfo, error) { return []DeviceInfo{devXiaodian, devDatong}, nil },
		device: func(_ context.Context, id string) (DeviceInfo, error) {
			if d, ok := devs[id]; ok {
				return d, nil
			}
			return DeviceInfo{}, fmt.Errorf("%w: %s", ErrNoDevice, id)
		},
		channels: func(_ context.Context, id string) ([]ChannelInfo, error) {
			if id == devXiaodian.ID {
				return []ChannelInfo{chA, chB}, nil
			}
			return nil, nil
		},
		channel: func(_ context.Context, id string) (ChannelInfo, error) {
			if c, ok := chans[id]; ok {
				return c, nil
			}
			return ChannelInfo{}, ErrNoDevice
		},
		refreshCatalog: func(_ context.Context, id string) (CatalogSummary, error) {
			if id == devDatong.ID {
				return CatalogSummary{}, ErrDeviceOffline
			}
			return CatalogSummary{SumNum: 2, Received: 2, Complete: true, Channels: 2}, nil
		},
		updateDevice: func(_ context.Context, id string, p DevicePatch) (DeviceInfo, error) {
			d := devs[id]
			if p.Transport != nil {
				if *p.Transport != "udp" && *p.Transport != "tcp-passive" && *p.Transport != "tcp-active" {
					return DeviceInfo{}, fmt.Errorf("%w: transport", ErrDeviceInvalid)
				}
				d.Transport = *p.Transport
			}
			if p.Password != nil {
				d.HasPassword = *p.Password != ""
			}
			return d, nil
		},
		deleteDevice: func(_ context.Context, id string) error {
			*calls = append(*calls, devCall{what: "delete", id: id})
			return nil
		},
		ptz: func(_ context.Context, ch, action string, speed int) error {
			if action == "sideways" {
				return fmt.Errorf("%w: action", ErrDeviceInvalid)
			}
			*calls = append(*calls, devCall{"ptz", ch, action, speed})
			return nil
		},
		preset: func(_ context.Context, ch, action string, index int) error {
			*calls = append(*calls, devCall{"preset", ch, action, index})
			return nil
		},
	}
}

type auditRec struct{ entries []auth.Entry }

func (a *auditRec) Audit(_ context.Context, e auth.Entry) error {
	a.entries = append(a.entries, e)
	return nil
}

func TestDevicesAPI(t *testing.T) {
	var calls []devCall
	api := NewDevicesAPI(newFakeDevices(&calls))
	audit := &auditRec{}
	api.Audit = audit
	rt := NewRouter(devAuth{}, 1<<16)
	api.Routes(rt)
	srv := httptest.NewServer(rt)
	defer srv.Close()

	do := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(res.Body).Decode(&v)
		return res.StatusCode, v
	}
	dx, ch := "/api/v1/devices/"+devXiaodian.ID, "/channels/"+chA.ID
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		check                           func(t *testing.T, v map[string]any)
	}{
		{"list all", "GET", "/api/v1/devices", "admin", "", 200, func(t *testing.T, v map[string]any) {
			if n := len(v["devices"].([]any)); n != 2 {
				t.Errorf("%d devices", n)
			}
			d := v["devices"].([]any)[0].(map[string]any)
			for _, k := range []string{"id", "name", "online", "transport", "remote_address", "channel_count"} {
				if _, ok := d[k]; !ok {
					t.Errorf("device JSON lacks %q: %v", k, d)
				}
			}
			if _, ok := d["password"]; ok {
				t.Error("password in the API")
			}
		}},
		{"list scoped", "GET", "/api/v1/devices", "op-taiyuan", "", 200, func(t *testing.T, v map[string]any) {
			if ds := v["devices"].([]any); len(ds) != 1 || ds[0].(map[string]any)["id"] != devXiaodian.ID {
				t.Errorf("scoped list %v", ds)
			}
		}},
		{"no token", "GET", "/api/v1/devices", "", "", 401, nil},
		{"trainee", "GET", "/api/v1/devices", "trainee", "", 403, nil},
		{"get", "GET", dx, "op-taiyuan", "", 200, func(t *testing.T, v map[string]any) {
			if v["name"] != "NVR 小店" {
				t.Errorf("%v", v)
			}
		}},
		{"get out of scope", "GET", "/api/v1/devices/" + devDatong.ID, "op-taiyuan", "", 404, nil},
		{"get unknown", "GET", "/api/v1/devices/99999999999999999999", "admin", "", 404, nil},
		{"channels", "GET", dx + "/channels", "admin", "", 200, func(t *testing.T, v map[string]any) {
			cs := v["channels"].([]any)
			if len(cs) != 2 {
				t.Fatalf("%v", cs)
			}
			for _, k := range []string{"id", "name", "online", "longitude", "latitude", "civil_code", "stream_id"} {
				if _, ok := cs[0].(map[string]any)[k]; !ok {
					t.Errorf("channel JSON lacks %q", k)
				}
			}
		}},
		{"channels scoped to county", "GET", dx + "/channels", "admin-xiaodian", "", 200, func(t *testing.T, v map[string]any) {
			if cs := v["channels"].([]any); len(cs) != 1 || cs[0].(map[string]any)["id"] != chA.ID {
				t.Errorf("%v", cs)
			}
		}},
		{"catalog refresh", "POST", dx + "/catalog", "op-taiyuan", "", 200, func(t *testing.T, v map[string]any) {
			if v["complete"] != true {
				t.Errorf("%v", v)
			}
		}},
		{"catalog of offline device", "POST", "/api/v1/devices/" + devDatong.ID + "/catalog", "admin", "", 409, nil},
		{"patch", "PATCH", dx, "admin", `{"transport":"udp","password":"x"}`, 200, func(t *testing.T, v map[string]any) {
			if v["transport"] != "udp" || v["has_password"] != true {
				t.Errorf("%v", v)
			}
		}},
		{"patch bad transport", "PATCH", dx, "admin", `{"transport":"carrier-pigeon"}`, 400, nil},
		{"patch unknown field", "PATCH", dx, "admin", `{"colour":"red"}`, 400, nil},
		{"patch not admin", "PATCH", dx, "op-taiyuan", `{"name":"x"}`, 403, nil},
		{"patch out of scope", "PATCH", "/api/v1/devices/" + devDatong.ID, "admin-xiaodian", `{"name":"x"}`, 404, nil},
		{"ptz", "POST", dx + ch + "/ptz", "op-taiyuan", `{"action":"left","speed":64}`, 204, nil},
		{"ptz default speed", "POST", dx + ch + "/ptz", "op-taiyuan", `{"action":"zoomin"}`, 204, nil},
		{"ptz bad speed", "POST", dx + ch + "/ptz", "op-taiyuan", `{"action":"left","speed":300}`, 400, nil},
		{"ptz bad action", "POST", dx + ch + "/ptz", "op-taiyuan", `{"action":"sideways"}`, 400, nil},
		{"ptz channel out of scope", "POST", dx + "/channels/" + chB.ID + "/ptz", "admin-xiaodian", `{"action":"left"}`, 404, nil},
		{"ptz channel of another device", "POST", "/api/v1/devices/" + devDatong.ID + ch + "/ptz", "admin", `{"action":"left"}`, 404, nil},
		{"ptz trainee", "POST", dx + ch + "/ptz", "trainee", `{"action":"left"}`, 403, nil},
		{"preset", "POST", dx + ch + "/presets", "admin", `{"action":"goto","index":3}`, 204, nil},
		{"preset bad index", "POST", dx + ch + "/presets", "admin", `{"action":"set","index":0}`, 400, nil},
		{"preset bad action", "POST", dx + ch + "/presets", "admin", `{"action":"jump","index":1}`, 400, nil},
		{"delete not admin", "DELETE", dx, "op-taiyuan", "", 403, nil},
		{"delete", "DELETE", dx, "admin", "", 204, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, v := do(tc.method, tc.path, tc.token, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d (%v)", status, tc.status, v)
			}
			if tc.check != nil {
				tc.check(t, v)
			}
		})
	}
	want := []devCall{
		{"ptz", chA.ID, "left", 64}, {"ptz", chA.ID, "zoomin", 0x80},
		{"preset", chA.ID, "goto", 3}, {"delete", devXiaodian.ID, "", 0},
	}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	if len(audit.entries) != 5 { // patch, 2 ptz, preset, delete
		t.Errorf("%d audit entries: %+v", len(audit.entries), audit.entries)
	}
}
