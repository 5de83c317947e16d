package signaling

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"pingan/configs"
	"pingan/dispatch"
)

// hotlineCases drive TestIntakeHotline and seed FuzzIntakeHotline: each
// body is sent with a valid signature.
var hotlineCases = []struct {
	name   string
	body   string
	status int
}{
	{"full order", `{"number":"WO-20261110-0001","channel":"phone","caller_name":"张三丰","caller_phone":"13812341234",` +
		`"category":"求助","title":"楼上漏水","content":"楼上漏水三天无人处理","address":"小店区坞城路1号",` +
		`"lat":37.75,"lon":112.56,"urgency":"urgent","time_limit":"3d","attachments":["https://x/1.jpg"]}`, 201},
	{"minimal", `{"number":"WO-2","content":"路灯不亮"}`, 201},
	{"region given", `{"number":"WO-3","content":"噪音","region":"140106"}`, 201},
	{"no number", `{"content":"x"}`, 422},
	{"no content", `{"number":"WO-4"}`, 422},
	{"bad category", `{"number":"WO-5","content":"x","category":"闲聊"}`, 422},
	{"bad urgency", `{"number":"WO-6","content":"x","urgency":"now"}`, 422},
	{"bad time limit", `{"number":"WO-7","content":"x","time_limit":"soon"}`, 422},
	{"bad region", `{"number":"WO-8","content":"x","region":"1"}`, 422},
	{"unknown field", `{"number":"WO-9","content":"x","extra":1}`, 422},
	{"wrong type", `{"number":9,"content":"x"}`, 422},
	{"trailing data", `{"number":"WO-10","content":"x"} {}`, 422},
	{"not JSON", `number=1`, 422},
	{"empty", ``, 422},
	{"bad latitude", `{"number":"WO-11","content":"x","lat":123}`, 422},
}

// signedHeaders signs body at time ts with secret.
func signedHeaders(secret string, ts time.Time, body []byte) http.Header {
	tss := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderIntakeTimestamp, tss)
	h.Set(HeaderIntakeSignature, "sha256="+hex.EncodeToString(dispatch.SignHotline([]byte(secret), tss, body)))
	return h
}

func (e *dispatchEnv) hotline(body []byte, hdr http.Header) (int, []byte) {
	e.t.Helper()
	res := e.send("POST", "/api/v1/intake/hotline", "", body, hdr)
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

type intakeAnswer struct {
	Case       apiCase `json:"case"`
	Duplicates []struct {
		Code string `json:"code"`
	} `json:"duplicates"`
}

func TestIntakeHotline(t *testing.T) {
	e := newDispatchEnv(t)
	for _, tc := range hotlineCases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			code, data := e.hotline(body, signedHeaders(hotlineSecret, time.Now(), body))
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, data)
			}
		})
	}

	body := []byte(hotlineCases[0].body)
	_, data := e.hotline(body, signedHeaders(hotlineSecret, time.Now(), body))
	var first intakeAnswer
	if err := json.Unmarshal(data, &first); err != nil || first.Case.Code == "" {
		t.Fatalf("repeat answer %s: %v", data, err)
	}
	if code, data := e.hotline(body, signedHeaders(hotlineSecret, time.Now(), body)); code != 200 || !strings.Contains(string(data), first.Case.Code) {
		t.Errorf("same order again: %d %s", code, data)
	}
	c := e.getCase("admin", first.Case.Code)
	if c.State != "registered" {
		t.Errorf("hotline case state %s", c.State)
	}

	// A second order nearby of the same type is flagged as a likely duplicate.
	dup := []byte(strings.Replace(hotlineCases[0].body, "WO-20261110-0001", "WO-20261110-0002", 1))
	code, data := e.hotline(dup, signedHeaders(hotlineSecret, time.Now(), dup))
	var second intakeAnswer
	_ = json.Unmarshal(data, &second)
	if code != 201 || len(second.Duplicates) != 1 || second.Duplicates[0].Code != first.Case.Code {
		t.Errorf("duplicate suggestion: %d %s", code, data)
	}

	refused := []struct {
		name string
		hdr  http.Header
	}{
		{"no headers", http.Header{}},
		{"wrong secret", signedHeaders("other", time.Now(), body)},
		{"stale timestamp", signedHeaders(hotlineSecret, time.Now().Add(-10*time.Minute), body)},
		{"future timestamp", signedHeaders(hotlineSecret, time.Now().Add(10*time.Minute), body)},
		{"signature not hex", http.Header{HeaderIntakeTimestamp: {strconv.FormatInt(time.Now().Unix(), 10)}, HeaderIntakeSignature: {"zz"}}},
		{"timestamp not a number", http.Header{HeaderIntakeTimestamp: {"now"}, HeaderIntakeSignature: {"00"}}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if code, data := e.hotline(body, tc.hdr); code != 401 {
				t.Errorf("status %d, want 401: %s", code, data)
			}
		})
	}
	// A body signed for another body.
	if code, _ := e.hotline([]byte(`{"number":"WO-X","content":"x"}`), signedHeaders(hotlineSecret, time.Now(), body)); code != 401 {
		t.Errorf("tampered body: %d", code)
	}
	big := []byte(`{"number":"WO-BIG","content":"` + strings.Repeat("x", 2<<20) + `"}`)
	if code, _ := e.hotline(big, signedHeaders(hotlineSecret, time.Now(), big)); code != 413 {
		t.Errorf("oversized body: %d, want 413", code)
	}
}

func TestIntakeGrid(t *testing.T) {
	e := newDispatchEnv(t)
	rep := map[string]any{"type": "hazard", "title": "电线裸露", "address": "村口", "lat": 37.75, "lon": 112.56,
		"photos": []string{"snap/1.jpg"}, "client_id": "app-42"}
	var first, again, other intakeAnswer
	if code := e.do("POST", "/api/v1/intake/grid", "grid105", rep, &first); code != 201 || first.Case.Region != "140105" {
		t.Fatalf("grid report: %d %+v", code, first)
	}
	if code := e.do("POST", "/api/v1/intake/grid", "grid105", rep, &again); code != 200 || again.Case.Code != first.Case.Code {
		t.Fatalf("same client_id again: %d %+v", code, again)
	}
	rep["client_id"] = "app-43"
	if code := e.do("POST", "/api/v1/intake/grid", "grid105", rep, &other); code != 201 || len(other.Duplicates) != 1 {
		t.Fatalf("nearby report: %d %+v", code, other)
	}
	if code := e.do("POST", "/api/v1/intake/grid", "op105", rep, nil); code != 403 {
		t.Errorf("operator on the grid route: %d", code)
	}
	if code := e.do("POST", "/api/v1/intake/grid", "grid105", map[string]any{"type": "nope", "title": "x"}, nil); code != 422 {
		t.Errorf("unknown type: %d", code)
	}
}

func TestIntakeHotlineDisabled(t *testing.T) {
	e := newDispatchEnvWith(t, func(cfg *configs.DispatchConfig) { cfg.Hotline.Secret = "" })
	body := []byte(hotlineCases[1].body)
	if code, data := e.hotline(body, signedHeaders("", time.Now(), body)); code != 503 {
		t.Errorf("hotline without a secret: %d %s, want 503", code, data)
	}
}

// FuzzIntakeHotline sends arbitrary bodies with valid signatures: the
// answer is never a 500 and always JSON.
func FuzzIntakeHotline(f *testing.F) {
	for _, tc := range hotlineCases {
		f.Add([]byte(tc.body))
	}
	e := newDispatchEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		e.t = t
		code, data := e.hotline(body, signedHeaders(hotlineSecret, time.Now(), body))
		if code >= 500 {
			t.Fatalf("status %d for %q: %s", code, body, data)
		}
		if !json.Valid(data) {
			t.Fatalf("answer is not JSON: %q", data)
		}
		if code != 200 && code != 201 && code != 413 && code != 422 {
			t.Fatalf("unexpected status %d: %s", code, data)
		}
	})
}
