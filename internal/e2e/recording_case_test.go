package e2e

import (
	"net/http"
	"testing"
	"time"
)

// TestRecordingFiledToCase: a recording started for a case is filed into
// the case's evidence, with a timeline entry, when it stops.
func TestRecordingFiledToCase(t *testing.T) {
	h := startHub(t, true, nil)
	var c struct {
		Code string `json:"code"`
	}
	code := h.call("POST", "/api/v1/cases", h.admin, map[string]any{
		"type": "dispute", "source": "walkin", "title": "邻里噪音纠纷", "region": "140105",
		"location": map[string]any{"address": "小店区平阳路 1 号", "lat": 37.8, "lon": 112.56},
	}, &c)
	if code != http.StatusCreated || c.Code == "" {
		t.Fatalf("create case: %d", code)
	}
	var rec struct {
		ID string `json:"id"`
	}
	if code := h.call("POST", "/api/v1/recordings", h.admin, map[string]any{"stream": "demo/1", "case": c.Code}, &rec); code != http.StatusCreated {
		t.Fatalf("start recording: %d", code)
	}
	time.Sleep(2500 * time.Millisecond)
	if code := h.call("DELETE", "/api/v1/recordings/"+rec.ID, h.admin, nil, nil); code != http.StatusNoContent {
		t.Fatalf("stop recording: %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got struct {
			Evidence []struct {
				Kind string `json:"kind"`
				Ref  string `json:"ref"`
			} `json:"evidence"`
			Timeline []struct {
				Action string `json:"action"`
			} `json:"timeline"`
		}
		h.call("GET", "/api/v1/cases/"+c.Code, h.admin, nil, &got)
		for _, e := range got.Evidence {
			if e.Kind == "recording" && e.Ref == rec.ID {
				if last := got.Timeline[len(got.Timeline)-1]; last.Action != "evidence" {
					t.Fatalf("last timeline entry = %q, want evidence", last.Action)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording %s not in the case's evidence: %+v", rec.ID, got.Evidence)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
