package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"pingan/configs"
)

// TestDispatchWorkflow drives a case from a grid report to closed over
// HTTP, with an incident on it, on both store backends; a county operator
// cannot see or act on another county's case.
func TestDispatchWorkflow(t *testing.T) {
	forDispatchBackends(t, 10, func(t *testing.T, edit func(*configs.Config)) {
		h, _ := startHubStoppable(t, edit)
		op105, op106 := h.user("op105", "operator", "140105"), h.user("op106", "operator", "140106")
		med := h.user("med105", "mediator", "140105")
		grid := h.user("grid105", "grid", "140105")
		h.mustCall(http.StatusCreated, "POST", "/api/v1/departments", h.admin,
			map[string]string{"id": "police-105", "name": "小店公安分局", "region": "140105"}, nil)

		var types struct {
			CaseTypes []struct {
				ID string `json:"id"`
			} `json:"case_types"`
		}
		h.mustCall(http.StatusOK, "GET", "/api/v1/case-types", grid, nil, &types)
		if len(types.CaseTypes) == 0 {
			t.Fatal("no case types")
		}
		var in struct {
			Case       e2eCase           `json:"case"`
			Duplicates []json.RawMessage `json:"duplicates"`
		}
		h.mustCall(http.StatusCreated, "POST", "/api/v1/intake/grid", grid, map[string]any{
			"type": "dispute", "title": "宅基地纠纷", "address": "北格镇", "lat": 37.7, "lon": 112.6, "client_id": "g-1"}, &in)
		c := in.Case
		if c.State != "registered" || in.Duplicates == nil {
			t.Fatalf("grid intake: %+v", in)
		}

		// Another county: 404 for reading and acting, absent from its list.
		h.mustCall(http.StatusNotFound, "GET", "/api/v1/cases/"+c.Code, op106, nil, nil)
		h.mustCall(http.StatusNotFound, "POST", "/api/v1/cases/"+c.Code+"/transitions", op106,
			map[string]any{"action": "accept", "version": c.Version}, nil)
		var list struct {
			Cases []e2eCase `json:"cases"`
		}
		h.mustCall(http.StatusOK, "GET", "/api/v1/cases", op106, nil, &list)
		if len(list.Cases) != 0 {
			t.Fatalf("op106 lists %+v", list.Cases)
		}

		var got e2eCase
		h.mustCall(http.StatusOK, "GET", "/api/v1/cases/"+c.Code, op105, nil, &got)
		if !slices.Contains(got.AllowedActions, "accept") {
			t.Fatalf("op105 allowed %v", got.AllowedActions)
		}
		c = h.act(op105, c, map[string]any{"action": "accept"})
		h.mustCall(http.StatusConflict, "POST", "/api/v1/cases/"+c.Code+"/transitions", op105,
			map[string]any{"action": "route", "version": c.Version - 1, "departments": []string{"police-105"}}, nil)
		c = h.act(op105, c, map[string]any{"action": "route", "departments": []string{"police-105"}})

		var inc struct {
			ID    string `json:"id"`
			State string `json:"state"`
		}
		h.mustCall(http.StatusCreated, "POST", "/api/v1/incidents", op105, map[string]any{"case": c.Code, "severity": 3}, &inc)
		h.mustCall(http.StatusOK, "POST", "/api/v1/incidents/"+inc.ID+"/summons", op105, map[string]any{"departments": []string{"police-105"}}, nil)
		h.mustCall(http.StatusOK, "POST", "/api/v1/incidents/"+inc.ID+"/checkins", med, map[string]any{"department": "police-105"}, nil)
		h.mustCall(http.StatusOK, "POST", "/api/v1/incidents/"+inc.ID+"/pins", op105, map[string]any{"stream": "gb/14010500001310000001"}, nil)
		h.mustCall(http.StatusOK, "GET", "/api/v1/incidents/"+inc.ID+"/nearby-cameras?radius=500", op105, nil, nil)
		h.mustCall(http.StatusNotFound, "GET", "/api/v1/incidents/"+inc.ID, op106, nil, nil)
		h.mustCall(http.StatusOK, "POST", "/api/v1/incidents/"+inc.ID+"/close", op105, nil, &inc)

		for _, act := range []string{"checkin", "start", "finish"} {
			c = h.act(med, c, map[string]any{"action": act, "department": "police-105"})
		}
		c = h.act(med, c, map[string]any{"action": "handle"})
		c = h.act(op105, c, map[string]any{"action": "report"})
		c = h.act(grid, c, map[string]any{"action": "followup", "satisfaction": 4})
		c = h.act(op105, c, map[string]any{"action": "close"})
		if c.State != "closed" {
			t.Fatalf("final state %s", c.State)
		}

		var stats struct {
			Total struct {
				Received, Resolved int
			} `json:"total"`
		}
		h.mustCall(http.StatusOK, "GET", "/api/v1/stats", op105, nil, &stats)
		if stats.Total.Received != 1 || stats.Total.Resolved != 1 {
			t.Errorf("stats %+v", stats.Total)
		}
		var audit []struct {
			Action string `json:"action"`
			Target string `json:"target"`
		}
		var auditPage struct {
			Entries json.RawMessage `json:"entries"`
		}
		h.mustCall(http.StatusOK, "GET", "/api/v1/audit", h.admin, nil, &auditPage)
		_ = json.Unmarshal(auditPage.Entries, &audit)
		n := 0
		for _, e := range audit {
			if e.Action == "case.transition" && e.Target == c.Code {
				n++
			}
		}
		if n != 9 {
			t.Errorf("%d case.transition audit entries, want 9", n)
		}
	})
}

// TestDispatchEventsResume: two consoles see the same transition; one
// reconnects with its last offset and gets exactly what it missed, also
// after the hub restarts on the same data.
func TestDispatchEventsResume(t *testing.T) {
	forDispatchBackends(t, 11, func(t *testing.T, edit func(*configs.Config)) {
		h, stop := startHubStoppable(t, edit)
		op := h.user("op105", "operator", "140105")
		var c e2eCase
		h.mustCall(http.StatusCreated, "POST", "/api/v1/cases", op, map[string]any{"type": "dispute", "source": "walkin",
			"title": "物业纠纷", "region": "140105"}, &c)

		a, b := h.dialEvents(op), h.dialEvents(h.admin)
		a.subscribe(0, "cases")
		b.subscribe(0, "cases")
		if ea, eb := a.events(1), b.events(1); ea[0] != eb[0] || ea[0].Type != "case.created" {
			t.Fatalf("replay: a %+v, b %+v", ea, eb)
		}
		c = h.act(op, c, map[string]any{"action": "accept"})
		if ea, eb := a.events(1), b.events(1); ea[0] != eb[0] || ea[0].Action != "accept" {
			t.Fatalf("live: a %+v, b %+v", ea, eb)
		}

		// a disconnects; three transitions; a resumes from its last offset.
		last := a.last
		_ = a.conn.Close()
		c = h.act(op, c, map[string]any{"action": "return", "reason": "材料不全"})
		c = h.act(op, c, map[string]any{"action": "accept"})
		c = h.act(op, c, map[string]any{"action": "escalate"})
		a = h.dialEvents(op)
		a.subscribe(last, "cases")
		if got := actions(a.events(3)); !slices.Equal(got, []string{"return", "accept", "escalate"}) {
			t.Fatalf("resumed with %v", got)
		}
		last = a.last
		b.events(3)
		b.quiet(300 * time.Millisecond)

		// Restart the hub on the same data; a change made on the new hub and
		// one made before the restart but not yet seen are both delivered.
		c = h.act(op, c, map[string]any{"action": "invalidate", "reason": "重复报送"})
		stop()
		h2, _ := startHubStoppable(t, edit)
		op = h2.login("op105", "password-op105")
		a = h2.dialEvents(op)
		a.subscribe(last, "cases", "case:"+c.Code)
		if got := actions(a.events(1)); !slices.Equal(got, []string{"invalidate"}) {
			t.Fatalf("after restart, resumed with %v", got)
		}
		var c2 e2eCase
		h2.mustCall(http.StatusCreated, "POST", "/api/v1/cases", op, map[string]any{"type": "hazard", "source": "walkin",
			"title": "电线裸露", "region": "140105"}, &c2)
		if ev := a.events(1)[0]; ev.Type != "case.created" || ev.Case != c2.Code {
			t.Fatalf("live after restart: %+v", ev)
		}
		a.quiet(300 * time.Millisecond)
	})
}

// TestDispatchHotlineIntake: signed 12345 orders become cases, the same
// order twice is the same case, bad signatures and stale timestamps are 401.
func TestDispatchHotlineIntake(t *testing.T) {
	forDispatchBackends(t, 12, func(t *testing.T, edit func(*configs.Config)) {
		h, _ := startHubStoppable(t, edit)
		body := []byte(`{"number":"12345-20261110-0007","channel":"phone","caller_name":"李四","caller_phone":"13912345678",` +
			`"category":"投诉","title":"夜间施工扰民","content":"工地夜间施工","address":"小店区学府街","lat":37.8,"lon":112.57}`)
		code, data := h.hotline(body, dispatchSecret, time.Now())
		if code != http.StatusCreated {
			t.Fatalf("signed order: %d %s", code, data)
		}
		var first struct {
			Case struct {
				Code     string `json:"code"`
				Region   string `json:"region"`
				Source   string `json:"source"`
				Reporter struct {
					Phone string `json:"phone"`
				} `json:"reporter"`
			} `json:"case"`
		}
		if err := json.Unmarshal(data, &first); err != nil {
			t.Fatal(err)
		}
		if first.Case.Region != "140105" || first.Case.Source != "hotline" || first.Case.Reporter.Phone != "139****5678" {
			t.Errorf("hotline case %+v", first.Case)
		}
		code, data = h.hotline(body, dispatchSecret, time.Now())
		if code != http.StatusOK || !strings.Contains(string(data), first.Case.Code) {
			t.Errorf("same order again: %d %s", code, data)
		}
		if code, data = h.hotline(body, "wrong-secret", time.Now()); code != http.StatusUnauthorized {
			t.Errorf("bad signature: %d %s", code, data)
		}
		if code, data = h.hotline(body, dispatchSecret, time.Now().Add(-time.Hour)); code != http.StatusUnauthorized {
			t.Errorf("stale timestamp: %d %s", code, data)
		}
		var list struct {
			Cases []e2eCase `json:"cases"`
		}
		h.mustCall(http.StatusOK, "GET", "/api/v1/cases", h.admin, nil, &list)
		if len(list.Cases) != 1 {
			t.Errorf("%d cases after intake, want 1", len(list.Cases))
		}
	})
}
