package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsAndLimits: Prometheus metrics (with Go runtime metrics) are
// served, oversized bodies are refused with 413, and unknown API paths and
// missing tokens give JSON errors.
func TestMetricsAndLimits(t *testing.T) {
	h := startHub(t, false, nil)
	res, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes", "pingan_http_requests_total"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}

	big := strings.NewReader(`{"username":"` + strings.Repeat("x", 2<<20) + `","password":"p"}`)
	res, err = http.Post(h.base+"/api/v1/auth/login", "application/json", big)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB login body: %d, want 413", res.StatusCode)
	}

	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if code := h.call("GET", "/api/v1/users", "", nil, &e); code != http.StatusUnauthorized || e.Error.Code == "" {
		t.Fatalf("no token: %d %+v", code, e)
	}
	if code := h.call("GET", "/api/v1/users", "forged.token.value", nil, &e); code != http.StatusUnauthorized {
		t.Fatalf("forged token: %d", code)
	}
}
