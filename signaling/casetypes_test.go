package signaling

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

type caseTypeJSON struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	NameEn  string            `json:"name_en"`
	Limits  map[string]string `json:"limits"`
	Active  bool              `json:"active"`
	Version uint64            `json:"version"`
}

func (e *dispatchEnv) caseTypes(token string) map[string]caseTypeJSON {
	e.t.Helper()
	var out struct {
		CaseTypes []caseTypeJSON `json:"case_types"`
	}
	if code := e.do("GET", "/api/v1/case-types", token, nil, &out); code != http.StatusOK {
		e.t.Fatalf("list case types as %s: %d", token, code)
	}
	m := map[string]caseTypeJSON{}
	for _, ct := range out.CaseTypes {
		m[ct.ID] = ct
	}
	return m
}

// TestCaseTypesAdminEdit: an admin shortens a limit; everyone sees it, the
// change is audited, and a case registered afterwards gets the new deadline.
func TestCaseTypesAdminEdit(t *testing.T) {
	e := newDispatchEnv(t)
	d := e.caseTypes("grid105")["dispute"]
	if d.Name == "" || !d.Active || d.Version != 0 || d.Limits["accept"] != "2h0m0s" {
		t.Fatalf("seeded dispute type %+v", d)
	}
	edit := map[string]any{"id": "dispute", "name": "矛盾纠纷", "name_en": "Dispute", "active": true,
		"limits": map[string]string{"accept": "30m", "route": "4h", "handle": "3d"}}
	if code := e.do("PUT", "/api/v1/case-types/dispute", "op105", edit, nil); code != http.StatusForbidden {
		t.Errorf("operator edit: %d", code)
	}
	var saved caseTypeJSON
	if code := e.do("PUT", "/api/v1/case-types/dispute", "admin", edit, &saved); code != http.StatusOK {
		t.Fatalf("admin edit: %d", code)
	}
	if saved.Version != 1 || saved.Limits["accept"] != "30m0s" || saved.Limits["handle"] != "72h0m0s" || saved.NameEn != "Dispute" {
		t.Fatalf("saved %+v", saved)
	}
	if got := e.caseTypes("op105")["dispute"]; got.Limits["accept"] != "30m0s" || got.Version != 1 {
		t.Errorf("listed after edit: %+v", got)
	}
	audits := e.audits.all()
	if len(audits) != 1 || audits[0].Action != ActionCaseTypeUpdate || audits[0].Actor != "root" || audits[0].Target != "dispute" ||
		!strings.Contains(audits[0].Detail, "accept 2h0m0s→30m0s") || !strings.Contains(audits[0].Detail, "checkin 2h0m0s→-") {
		t.Errorf("audit %+v", audits)
	}

	before := time.Now()
	var c struct {
		Deadline time.Time `json:"deadline"`
	}
	nc := map[string]any{"type": "dispute", "source": "walkin", "title": "邻里噪音纠纷", "region": "140105"}
	if code := e.do("POST", "/api/v1/cases", "op105", nc, &c); code != http.StatusCreated {
		t.Fatalf("create case: %d", code)
	}
	if c.Deadline.Before(before.Add(29*time.Minute)) || c.Deadline.After(time.Now().Add(31*time.Minute)) {
		t.Errorf("new case deadline %v, want 30 minutes from now", c.Deadline)
	}

	// A stale version is 409; a mismatched id 422.
	edit["version"] = 5
	if code := e.do("PUT", "/api/v1/case-types/dispute", "admin", edit, nil); code != http.StatusConflict {
		t.Errorf("stale edit: %d", code)
	}
	delete(edit, "version")
	if code := e.do("PUT", "/api/v1/case-types/hazard", "admin", edit, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("id mismatch: %d", code)
	}
	if code := e.do("PUT", "/api/v1/case-types/nosuch", "admin", map[string]any{"id": "nosuch", "name": "x"}, nil); code != http.StatusNotFound {
		t.Errorf("edit of an unknown type: %d", code)
	}
}

func TestCaseTypesCreate(t *testing.T) {
	e := newDispatchEnv(t)
	noise := map[string]any{"id": "noise", "name": "噪音扰民", "active": true, "limits": map[string]string{"accept": "1h"}}
	if code := e.do("POST", "/api/v1/case-types", "leader", noise, nil); code != http.StatusForbidden {
		t.Errorf("leader create: %d", code)
	}
	if code := e.do("POST", "/api/v1/case-types", "", noise, nil); code != http.StatusUnauthorized {
		t.Errorf("anonymous create: %d", code)
	}
	if code := e.do("POST", "/api/v1/case-types", "admin", noise, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if code := e.do("POST", "/api/v1/case-types", "admin", noise, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("duplicate create: %d", code)
	}
	if got := e.caseTypes("op105")["noise"]; got.Name != "噪音扰民" || !got.Active {
		t.Errorf("created type listed as %+v", got)
	}
	if a := e.audits.all(); len(a) != 1 || a[0].Action != ActionCaseTypeCreate || !strings.Contains(a[0].Detail, "accept -→1h0m0s") {
		t.Errorf("audit %+v", a)
	}
	for _, tc := range []struct {
		name string
		body any
		want int
	}{
		{"malformed", []byte(`{"id":`), http.StatusBadRequest},
		{"unknown field", []byte(`{"id":"x","name":"y","colour":1}`), http.StatusBadRequest},
		{"bad id", map[string]any{"id": "X Y", "name": "y"}, http.StatusUnprocessableEntity},
		{"bad stage", map[string]any{"id": "x", "name": "y", "limits": map[string]string{"lunch": "1h"}}, http.StatusUnprocessableEntity},
		{"zero limit", map[string]any{"id": "x", "name": "y", "limits": map[string]string{"handle": "0s"}}, http.StatusUnprocessableEntity},
		{"too large", []byte(`{"id":"x","name":"` + strings.Repeat("y", 20<<10) + `"}`), http.StatusRequestEntityTooLarge},
	} {
		if code := e.do("POST", "/api/v1/case-types", "admin", tc.body, nil); code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
		}
	}

	// Deactivated: no new cases of the type.
	noise["active"] = false
	if code := e.do("PUT", "/api/v1/case-types/noise", "admin", noise, nil); code != http.StatusOK {
		t.Fatalf("deactivate: %d", code)
	}
	code := e.do("POST", "/api/v1/cases", "op105", map[string]any{"type": "noise", "source": "walkin", "title": "噪音", "region": "140105"}, nil)
	if code != http.StatusUnprocessableEntity {
		t.Errorf("case of an inactive type: %d", code)
	}
}
