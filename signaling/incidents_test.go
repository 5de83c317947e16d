package signaling

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"pingan/dispatch"
)

// apiIncident is an incident as the API returns it.
type apiIncident struct {
	ID      string   `json:"id"`
	Case    string   `json:"case"`
	State   string   `json:"state"`
	Streams []string `json:"streams"`
	Summons []struct {
		Department  string `json:"department"`
		CheckedInAt string `json:"checked_in_at"`
	} `json:"summons"`
}

func TestIncidentsAPI(t *testing.T) {
	e := newDispatchEnv(t)
	e.createDepartment("fire-105", "140105")
	c := e.createCase("op105", "140105", "")
	e.svc.SetCameraLocator(fakeCameras{cameras: func(_ context.Context, region string) ([]dispatch.Camera, error) {
		if region != "140105" {
			t.Errorf("cameras asked for region %q", region)
		}
		return []dispatch.Camera{
			{ID: "near", StreamID: "gb/near", Lat: 37.7501, Lon: 112.5601, Region: "140105", Online: true},
			{ID: "far", StreamID: "gb/far", Lat: 37.80, Lon: 112.60, Region: "140105"},
		}, nil
	}})

	var in apiIncident
	if code := e.do("POST", "/api/v1/incidents", "op105", map[string]any{"case": c.Code, "severity": 2}, &in); code != http.StatusCreated {
		t.Fatalf("create incident: %d", code)
	}
	if in.ID == "" || in.Case != c.Code || in.State != "open" {
		t.Fatalf("incident %+v", in)
	}
	base := "/api/v1/incidents/" + in.ID
	stream := "gb/14010500001310000001"
	if code := e.do("POST", base+"/pins", "op105", map[string]string{"stream": stream}, &in); code != 200 || !slices.Equal(in.Streams, []string{stream}) {
		t.Fatalf("pin: %d %+v", code, in.Streams)
	}
	if code := e.do("DELETE", base+"/pins/"+stream, "op105", nil, &in); code != 200 || len(in.Streams) != 0 {
		t.Fatalf("unpin: %d %+v", code, in.Streams)
	}
	if code := e.do("POST", base+"/summons", "op105", map[string]any{"departments": []string{"fire-105"}}, &in); code != 200 || len(in.Summons) != 1 {
		t.Fatalf("summon: %d %+v", code, in.Summons)
	}
	if code := e.do("POST", base+"/checkins", "med105", map[string]string{"department": "fire-105"}, &in); code != 200 || in.Summons[0].CheckedInAt == "" {
		t.Fatalf("checkin: %d %+v", code, in.Summons)
	}
	var near struct {
		Cameras []dispatch.NearbyCamera `json:"cameras"`
	}
	if code := e.do("GET", base+"/nearby-cameras?radius=1000", "op105", nil, &near); code != 200 || len(near.Cameras) != 1 || near.Cameras[0].ID != "near" {
		t.Fatalf("nearby: %d %+v", code, near)
	}
	var list struct {
		Incidents []apiIncident `json:"incidents"`
	}
	if code := e.do("GET", "/api/v1/incidents?state=open", "op105", nil, &list); code != 200 || len(list.Incidents) != 1 {
		t.Fatalf("list: %d %+v", code, list)
	}
	if code := e.do("GET", "/api/v1/incidents", "op106", nil, &list); code != 200 || len(list.Incidents) != 0 {
		t.Fatalf("other county's list: %d %+v", code, list)
	}
	if code := e.do("POST", base+"/close", "op105", nil, &in); code != 200 || in.State != "closed" {
		t.Fatalf("close: %d %+v", code, in)
	}
	if code := e.do("GET", "/api/v1/incidents?state=open", "op105", nil, &list); code != 200 || len(list.Incidents) != 0 {
		t.Fatalf("open list after close: %d %+v", code, list)
	}

	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
	}{
		{"closed incident", "POST", base + "/pins", "op105", map[string]string{"stream": "x"}, 409},
		{"other county", "GET", base, "op106", nil, 404},
		{"unknown incident", "GET", "/api/v1/incidents/INC99999999", "admin", nil, 404},
		{"mediator opens", "POST", "/api/v1/incidents", "med105", map[string]any{"case": c.Code, "severity": 2}, 403},
		{"grid lists", "GET", "/api/v1/incidents", "grid105", nil, 403},
		{"bad severity", "POST", "/api/v1/incidents", "op105", map[string]any{"case": c.Code, "severity": 9}, 422},
		{"unknown case", "POST", "/api/v1/incidents", "op105", map[string]any{"case": "140105202601010000001", "severity": 1}, 422},
		{"bad radius", "GET", base + "/nearby-cameras?radius=" + url.QueryEscape("1e9"), "op105", nil, 422},
		{"radius not a number", "GET", base + "/nearby-cameras?radius=x", "op105", nil, 422},
		{"bad state", "GET", "/api/v1/incidents?state=x", "op105", nil, 422},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ae apiError
			if got := e.do(tc.method, tc.path, tc.token, tc.body, &ae); got != tc.status {
				t.Errorf("status %d, want %d (%+v)", got, tc.status, ae.Error)
			}
		})
	}
}

func TestIncidentsNoCameraLocator(t *testing.T) {
	e := newDispatchEnv(t)
	c := e.createCase("op105", "140105", "")
	var in apiIncident
	if code := e.do("POST", "/api/v1/incidents", "op105", map[string]any{"case": c.Code, "severity": 3}, &in); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if code := e.do("GET", "/api/v1/incidents/"+in.ID+"/nearby-cameras", "op105", nil, nil); code != 503 {
		t.Errorf("nearby without a locator: %d, want 503", code)
	}
}
