package dispatch

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"pingan/internal/store"
)

// hotlineCases seed both the tests and the fuzzer.
var hotlineCases = []struct {
	name string
	body string
	ok   bool
}{
	{"full", `{"number":"WO20261110001","channel":"phone","caller_name":"李四","caller_phone":"13812341234",
	  "category":"投诉","title":"物业乱收费","content":"小区物业违规收取停车费","address":"小店区长风街","lat":37.8,"lon":112.56,
	  "region":"140105","urgency":"urgent","time_limit":"3d","attachments":["https://x/1.jpg"]}`, true},
	{"minimal", `{"number":"WO2","content":"路灯不亮"}`, true},
	{"unknown field", `{"number":"WO3","content":"x","extra":1}`, false},
	{"no number", `{"content":"x"}`, false},
	{"bad category", `{"number":"WO4","content":"x","category":"其他"}`, false},
	{"wrong type", `{"number":5,"content":"x"}`, false},
	{"trailing", `{"number":"WO6","content":"x"} {}`, false},
	{"not json", `number=1`, false},
	{"bad limit", `{"number":"WO7","content":"x","time_limit":"soon"}`, false},
	{"array", `[]`, false},
}

func sign(body []byte, ts string) string {
	return "sha256=" + hex.EncodeToString(SignHotline([]byte("s3cret"), ts, body))
}

func TestParseHotlineOrder(t *testing.T) {
	for _, tc := range hotlineCases {
		o, err := ParseHotlineOrder([]byte(tc.body))
		if tc.ok != (err == nil) {
			t.Errorf("%s: %v", tc.name, err)
		}
		var ve *ValidationError
		if err != nil && !errors.As(err, &ve) {
			t.Errorf("%s: error %T is not a ValidationError", tc.name, err)
		}
		_ = o
	}
}

func TestHotlineIntake(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		ctx := context.Background()
		body := []byte(hotlineCases[0].body)
		ts := strconv.FormatInt(t0.Unix(), 10)
		res, err := svc.Hotline(ctx, body, ts, sign(body, ts))
		if err != nil {
			t.Fatal(err)
		}
		c := res.Case
		if c.Source != SourceHotline || c.Type != "petition" || c.ExternalID != "WO20261110001" ||
			c.Reporter.Phone != "138****1234" || c.Reporter.Name != "李*" || c.HandleLimit != 72*time.Hour ||
			c.Urgency != "urgent" || len(c.Evidence) != 1 {
			t.Fatalf("case %+v reporter %+v", c, c.Reporter)
		}
		if raw, _ := st.Get(ctx, keyCase+string(c.Code)); containsBytes(raw.Value, "13812341234") {
			t.Fatal("phone stored unmasked")
		}
		// The same work order again (re-signed later) is the same case.
		ts2 := strconv.FormatInt(t0.Unix()+60, 10)
		again, err := svc.Hotline(ctx, body, ts2, sign(body, ts2))
		if err != nil || again.Case.Code != c.Code || !again.Case.Existing {
			t.Fatalf("idempotency: %v %+v", err, again)
		}
		if _, err := svc.Hotline(ctx, body, ts, sign([]byte(`{}`), ts)); !errors.Is(err, ErrUnauthorized) || KindOf(err).Status() != 401 {
			t.Fatalf("bad signature: %v", err)
		}
		old := strconv.FormatInt(t0.Add(-10*time.Minute).Unix(), 10)
		if _, err := svc.Hotline(ctx, body, old, sign(body, old)); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("stale timestamp: %v", err)
		}
		if _, err := svc.Hotline(ctx, body, "yesterday", sign(body, "yesterday")); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("bad timestamp: %v", err)
		}
		// A second order nearby of the same type is flagged as a duplicate.
		body2 := []byte(`{"number":"WO9","category":"投诉","content":"物业乱收费","lat":37.8005,"lon":112.5601,"region":"140105"}`)
		res2, err := svc.Hotline(ctx, body2, ts, sign(body2, ts))
		if err != nil || len(res2.Duplicates) != 1 || res2.Duplicates[0].Code != c.Code || res2.Duplicates[0].Distance > 200 {
			t.Fatalf("duplicates: %v %+v", err, res2)
		}
	})
}

func TestHotlineDisabled(t *testing.T) {
	cfg := testConfig()
	cfg.Hotline.Secret = ""
	svc, err := New(openBolt(t), cfg, shanghai, NewFakeClock(t0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Hotline(context.Background(), []byte(`{}`), "0", ""); !errors.Is(err, ErrIntakeDisabled) {
		t.Fatal(err)
	}
}

func TestGridIntake(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		ctx := context.Background()
		worker := grid105
		worker.Region = "140105001"
		r := GridReport{Type: "hazard", Title: "井盖缺失", Lat: 37.8, Lon: 112.56, Photos: []string{"snap/1.jpg"}, ClientID: "app-1"}
		res, err := svc.Grid(ctx, worker, r)
		if err != nil || res.Case.Region != "140105001" || res.Case.Level != LevelTownship || res.Case.Source != SourceGrid ||
			len(res.Case.Code) != 23 || len(res.Case.Evidence) != 1 {
			t.Fatalf("grid: %v %+v", err, res)
		}
		again, err := svc.Grid(ctx, worker, r)
		if err != nil || again.Case.Code != res.Case.Code {
			t.Fatalf("grid retry: %v", err)
		}
		r.Type = ""
		if _, err := svc.Grid(ctx, worker, r); !isKind(err, KindInvalid) {
			t.Fatalf("grid without type: %v", err)
		}
	})
}

func TestMasks(t *testing.T) {
	for in, want := range map[string]string{"13812341234": "138****1234", "": "", "1234": "**34", "+8613812341234": "+86*******1234"} {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
	if MaskName("张三丰") != "张**" {
		t.Error(MaskName("张三丰"))
	}
}

func FuzzHotlineIntake(f *testing.F) {
	for _, tc := range hotlineCases {
		f.Add([]byte(tc.body))
	}
	svc, err := New(openBolt(f), testConfig(), shanghai, NewFakeClock(t0), nil)
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := ParseHotlineOrder(body)
		if err != nil {
			return
		}
		if _, err := svc.hotlineCase(ctx, o); err == nil {
			if _, err := json.Marshal(o); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func containsBytes(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
