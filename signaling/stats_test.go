package signaling

import (
	"net/http"
	"testing"
	"time"
)

type apiStats struct {
	Frozen bool `json:"frozen"`
	Total  struct {
		Received int `json:"received"`
		Accepted int `json:"accepted"`
	} `json:"total"`
	Groups []struct {
		Key string `json:"key"`
	} `json:"groups"`
}

func TestStatsAPI(t *testing.T) {
	e := newDispatchEnv(t)
	c := e.createCase("op105", "140105", "")
	e.createCase("admin", "140106", "")
	e.mustTransition("op105", c, map[string]any{"action": "accept"})

	var st apiStats
	if code := e.do("GET", "/api/v1/stats", "op105", nil, &st); code != 200 || st.Total.Received != 1 || st.Total.Accepted != 1 {
		t.Fatalf("op105 stats: %d %+v", code, st)
	}
	if code := e.do("GET", "/api/v1/stats?group_by=region", "admin", nil, &st); code != 200 || st.Total.Received != 2 || len(st.Groups) != 2 {
		t.Fatalf("admin stats by region: %d %+v", code, st)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
	if code := e.do("GET", "/api/v1/stats?from="+today+"&to="+tomorrow+"&region=140106", "admin", nil, &st); code != 200 || st.Total.Received != 1 {
		t.Fatalf("dated, regional stats: %d %+v", code, st)
	}

	month := time.Now().UTC().Format("2006-01")
	if code := e.do("GET", "/api/v1/stats/snapshots/"+month, "admin", nil, nil); code != http.StatusNotFound {
		t.Errorf("unfrozen month: %d, want 404", code)
	}
	if code := e.do("POST", "/api/v1/stats/snapshots", "leader", map[string]string{"month": month}, nil); code != http.StatusCreated {
		t.Fatalf("snapshot: %d", code)
	}
	if code := e.do("POST", "/api/v1/stats/snapshots", "admin", map[string]string{"month": month}, nil); code != http.StatusOK {
		t.Errorf("snapshot again: %d, want 200", code)
	}
	e.createCase("op105", "140105", "") // after the freeze: not in the frozen numbers
	if code := e.do("GET", "/api/v1/stats/snapshots/"+month, "admin", nil, &st); code != 200 || !st.Frozen || st.Total.Received != 2 {
		t.Errorf("frozen month: %d %+v", code, st)
	}

	bad := []struct {
		name, method, path, token string
		body                      any
		status                    int
	}{
		{"bad group_by", "GET", "/api/v1/stats?group_by=colour", "admin", nil, 422},
		{"bad from", "GET", "/api/v1/stats?from=yesterday", "admin", nil, 422},
		{"from after to", "GET", "/api/v1/stats?from=2026-02-01&to=2026-01-01", "admin", nil, 422},
		{"bad month", "GET", "/api/v1/stats?month=2026-13", "admin", nil, 422},
		{"grid", "GET", "/api/v1/stats", "grid105", nil, 403},
		{"operator freezes", "POST", "/api/v1/stats/snapshots", "op105", map[string]string{"month": month}, 403},
		{"bad snapshot month", "POST", "/api/v1/stats/snapshots", "admin", map[string]string{"month": "May"}, 422},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.do(tc.method, tc.path, tc.token, tc.body, nil); got != tc.status {
				t.Errorf("status %d, want %d", got, tc.status)
			}
		})
	}
}
