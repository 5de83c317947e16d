package signaling

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"slices"
	"testing"
)

func TestCasesCreateAndGet(t *testing.T) {
	e := newDispatchEnv(t)
	c := e.createCase("op105", "140105", "")
	if c.Code == "" || c.State != "registered" || c.Version == 0 || c.Colour != "green" {
		t.Fatalf("created case: %+v", c)
	}
	if !slices.Equal(c.AllowedActions, []string{"accept", "escalate", "merge", "invalidate"}) {
		t.Errorf("operator allowed actions = %v", c.AllowedActions)
	}

	// The same external id twice: 201, then 200 with the same case.
	var first, again apiCase
	nc := map[string]any{"type": "hazard", "source": "hotline", "title": "井盖缺失", "region": "140105", "external_id": "WO-1"}
	if code := e.do("POST", "/api/v1/cases", "op105", nc, &first); code != http.StatusCreated {
		t.Fatalf("first create: %d", code)
	}
	if code := e.do("POST", "/api/v1/cases", "op105", nc, &again); code != http.StatusOK || again.Code != first.Code || !again.Existing {
		t.Fatalf("repeat create: %d %+v (first %s)", code, again, first.Code)
	}

	// Role-narrowed allowed actions: a grid worker sees none of the center's buttons.
	var g apiCase
	if code := e.do("GET", "/api/v1/cases/"+c.Code, "grid105", nil, &g); code != http.StatusOK {
		t.Fatalf("grid get: %d", code)
	}
	if len(g.AllowedActions) != 0 {
		t.Errorf("grid allowed actions = %v, want none", g.AllowedActions)
	}

	cases := []struct {
		name, token, path string
		body              any
		status            int
		code              string
	}{
		{"other county", "op106", "/api/v1/cases/" + c.Code, nil, 404, "not_found"},
		{"malformed code", "admin", "/api/v1/cases/abc", nil, 404, "not_found"},
		{"no token", "", "/api/v1/cases/" + c.Code, nil, 401, "unauthorized"},
		{"trainee", "trainee", "/api/v1/cases/" + c.Code, nil, 403, "forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ae apiError
			if got := e.do("GET", tc.path, tc.token, tc.body, &ae); got != tc.status || ae.Error.Code != tc.code {
				t.Errorf("status %d code %q, want %d %q", got, ae.Error.Code, tc.status, tc.code)
			}
		})
	}
}

func TestCasesCreateErrors(t *testing.T) {
	e := newDispatchEnv(t)
	cases := []struct {
		name   string
		token  string
		body   any
		status int
		field  string
	}{
		{"unknown type", "op105", map[string]any{"type": "x", "source": "grid", "title": "t", "region": "140105"}, 422, "type"},
		{"no title", "op105", map[string]any{"type": "dispute", "source": "grid", "region": "140105"}, 422, "title"},
		{"bad region", "op105", map[string]any{"type": "dispute", "source": "grid", "title": "t", "region": "14"}, 422, "region"},
		{"out of scope", "op105", map[string]any{"type": "dispute", "source": "grid", "title": "t", "region": "140106"}, 422, "region"},
		{"bad lat", "op105", map[string]any{"type": "dispute", "source": "grid", "title": "t", "region": "140105",
			"location": map[string]any{"lat": 91}}, 422, "location.lat"},
		{"unknown field", "op105", map[string]any{"nope": 1}, 400, ""},
		{"not JSON", "op105", []byte("{"), 400, ""},
		{"trainer", "trainer", map[string]any{"type": "dispute", "source": "grid", "title": "t", "region": "140105"}, 403, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ae apiError
			if got := e.do("POST", "/api/v1/cases", tc.token, tc.body, &ae); got != tc.status {
				t.Fatalf("status %d, want %d (%+v)", got, tc.status, ae.Error)
			}
			if tc.field != "" && ae.Error.Details["field"] != tc.field {
				t.Errorf("details = %v, want field %s", ae.Error.Details, tc.field)
			}
		})
	}
}

func TestCasesList(t *testing.T) {
	e := newDispatchEnv(t)
	var codes []string
	for range 5 {
		codes = append(codes, e.createCase("admin", "140105", "").Code)
	}
	other := e.createCase("admin", "140106", "")
	e.mustTransition("admin", e.getCase("admin", codes[0]), map[string]any{"action": "accept"})

	type page struct {
		Cases      []apiCase `json:"cases"`
		NextCursor string    `json:"next_cursor"`
	}
	var all []string
	for cursor, n := "", 0; n < 10; n++ {
		var p page
		if code := e.do("GET", "/api/v1/cases?limit=2&cursor="+cursor, "op105", nil, &p); code != 200 {
			t.Fatalf("list: %d", code)
		}
		for _, c := range p.Cases {
			all = append(all, c.Code)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(all) != 5 || slices.Contains(all, other.Code) {
		t.Fatalf("op105 paged through %v, want the 5 cases of 140105", all)
	}
	var p page
	if code := e.do("GET", "/api/v1/cases?state=accepted", "admin", nil, &p); code != 200 || len(p.Cases) != 1 || p.Cases[0].Code != codes[0] {
		t.Errorf("state filter: %d %+v", code, p.Cases)
	}
	if code := e.do("GET", "/api/v1/cases?region=140106", "admin", nil, &p); code != 200 || len(p.Cases) != 1 {
		t.Errorf("region filter: %d %d cases", code, len(p.Cases))
	}
	if code := e.do("GET", "/api/v1/cases?region=140106", "op105", nil, &p); code != 200 || len(p.Cases) != 0 {
		t.Errorf("region outside scope: %d %d cases", code, len(p.Cases))
	}
	if code := e.do("GET", "/api/v1/cases?q="+codes[2], "admin", nil, &p); code != 200 || len(p.Cases) != 1 {
		t.Errorf("q filter: %d %d cases", code, len(p.Cases))
	}
	for _, bad := range []string{"state=nope", "colour=blue", "limit=-1", "limit=x", "cursor=zzz"} {
		if code := e.do("GET", "/api/v1/cases?"+bad, "admin", nil, nil); code != 422 {
			t.Errorf("%s: status %d, want 422", bad, code)
		}
	}
}

func (e *dispatchEnv) getCase(token, code string) apiCase {
	e.t.Helper()
	var c apiCase
	if st := e.do("GET", "/api/v1/cases/"+code, token, nil, &c); st != 200 {
		e.t.Fatalf("get %s: %d", code, st)
	}
	return c
}

// TestCasesWorkflow walks a case through the whole workflow over HTTP.
func TestCasesWorkflow(t *testing.T) {
	e := newDispatchEnv(t)
	e.createDepartment("police-105", "140105")
	e.createDepartment("judicial-105", "140105")
	c := e.createCase("grid105", "140105", "")

	c = e.mustTransition("op105", c, map[string]any{"action": "accept"})
	c = e.mustTransition("op105", c, map[string]any{"action": "route", "departments": []string{"police-105", "judicial-105"}})
	for _, d := range []string{"police-105", "judicial-105"} {
		c = e.mustTransition("med105", c, map[string]any{"action": "checkin", "department": d})
	}
	c = e.mustTransition("med105", c, map[string]any{"action": "start", "department": "police-105"})
	c = e.mustTransition("med105", c, map[string]any{"action": "reject", "department": "judicial-105", "reason": "不属本部门"})
	c = e.mustTransition("med105", c, map[string]any{"action": "finish", "department": "police-105"})
	if !slices.Contains(c.AllowedActions, "handle") {
		t.Fatalf("after finish, allowed = %v", c.AllowedActions)
	}
	c = e.mustTransition("med105", c, map[string]any{"action": "handle", "note": "已调解"})
	c = e.mustTransition("op105", c, map[string]any{"action": "report"})
	c = e.mustTransition("grid105", c, map[string]any{"action": "followup", "satisfaction": 5})
	c = e.mustTransition("op105", c, map[string]any{"action": "close"})
	if c.State != "closed" || len(c.AllowedActions) != 0 {
		t.Fatalf("final: %+v", c)
	}
	if n := len(e.audits.all()); n != 11 {
		t.Errorf("%d audit entries, want 11 (one per transition)", n)
	}
}

func TestCasesTransitionErrors(t *testing.T) {
	e := newDispatchEnv(t)
	c := e.createCase("op105", "140105", "")

	code, _, ae := e.transition("op105", c.Code, map[string]any{"action": "accept", "version": c.Version + 7})
	if code != 409 || ae.Error.Code != "stale_version" || ae.Error.Details["current_version"] != float64(c.Version) {
		t.Errorf("stale: %d %+v", code, ae.Error)
	}
	code, _, ae = e.transition("op105", c.Code, map[string]any{"action": "close", "version": c.Version})
	allowed, _ := ae.Error.Details["allowed"].([]any)
	if code != 409 || ae.Error.Code != "illegal_transition" || len(allowed) == 0 || allowed[0] != "accept" {
		t.Errorf("wrong state: %d %+v", code, ae.Error)
	}
	if code, _, ae = e.transition("grid105", c.Code, map[string]any{"action": "accept", "version": c.Version}); code != 403 {
		t.Errorf("grid accept: %d %+v", code, ae.Error)
	}
	if code, _, ae = e.transition("op106", c.Code, map[string]any{"action": "accept", "version": c.Version}); code != 404 {
		t.Errorf("other county: %d %+v", code, ae.Error)
	}
	if code, _, ae = e.transition("op105", c.Code, map[string]any{"action": "invalidate", "version": c.Version}); code != 422 || ae.Error.Details["field"] != "reason" {
		t.Errorf("missing reason: %d %+v", code, ae.Error)
	}
	if code, _, ae = e.transition("op105", c.Code, map[string]any{"action": "fly", "version": c.Version}); code != 422 {
		t.Errorf("unknown action: %d %+v", code, ae.Error)
	}
	if code, _, _ = e.transition("op105", c.Code, map[string]any{"action": "accept", "version": "x"}); code != 400 {
		t.Errorf("bad version type: %d", code)
	}
	if code, _, _ = e.transition("trainee", c.Code, map[string]any{"action": "accept", "version": c.Version}); code != 403 {
		t.Errorf("trainee: %d", code)
	}
	if len(e.audits.all()) != 0 {
		t.Errorf("failed transitions were audited: %+v", e.audits.all())
	}
}

func TestCasesQRAndTypes(t *testing.T) {
	e := newDispatchEnv(t)
	c := e.createCase("op105", "140105", "")
	res := e.send("GET", "/api/v1/cases/"+c.Code+"/qr.png", "op105", nil, nil)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if _, err := png.Decode(bytes.NewReader(body)); err != nil {
		t.Fatalf("qr is not a PNG: %v", err)
	}
	if code := e.do("GET", "/api/v1/cases/"+c.Code+"/qr.png", "op106", nil, nil); code != 404 {
		t.Errorf("qr of another county's case: %d", code)
	}
	// ?access_token= works for <img src>.
	res = e.send("GET", "/api/v1/cases/"+c.Code+"/qr.png?access_token=op105", "", nil, nil)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("qr with access_token: %d", res.StatusCode)
	}

	var types struct {
		CaseTypes []struct {
			ID, Name string
			Limits   map[string]string
		} `json:"case_types"`
	}
	if code := e.do("GET", "/api/v1/case-types", "grid105", nil, &types); code != 200 || len(types.CaseTypes) == 0 {
		t.Fatalf("case types: %d %+v", code, types)
	}
	if ct := types.CaseTypes[0]; ct.ID == "" || ct.Name == "" || ct.Limits["handle"] == "" {
		t.Errorf("case type %+v", ct)
	}
}

func TestDepartmentsAPI(t *testing.T) {
	e := newDispatchEnv(t)
	e.createDepartment("city-police", "1401")
	e.createDepartment("police-105", "140105")
	e.createDepartment("police-106", "140106")
	var out struct {
		Departments []struct {
			ID string `json:"id"`
		} `json:"departments"`
	}
	if code := e.do("GET", "/api/v1/departments", "op105", nil, &out); code != 200 {
		t.Fatalf("list: %d", code)
	}
	var ids []string
	for _, d := range out.Departments {
		ids = append(ids, d.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"city-police", "police-105"}) {
		t.Errorf("op105 sees %v", ids)
	}
	if code := e.do("POST", "/api/v1/departments", "op105", map[string]string{"id": "x", "name": "x", "region": "140105"}, nil); code != 403 {
		t.Errorf("operator creates a department: %d", code)
	}
	if code := e.do("POST", "/api/v1/departments", "admin", map[string]string{"id": "bad id!", "name": "x", "region": "140105"}, nil); code != 422 {
		t.Errorf("bad id: %d", code)
	}
	if code := e.do("POST", "/api/v1/departments", "leader", map[string]string{"id": "d1", "name": "x", "region": "1402"}, nil); code != 422 {
		t.Errorf("leader outside scope: %d", code)
	}
}
