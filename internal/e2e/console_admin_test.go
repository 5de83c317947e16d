package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pingan/internal/browsertest"
)

// TestConsoleLayoutFollowsUser: a layout saved on the wall in one browser
// appears in a second browser (its own profile, so its own localStorage)
// where the same user signs in, and loading it fills the same tiles. A
// layout an older console kept in localStorage moves to the hub on first
// use and leaves the browser.
func TestConsoleLayoutFollowsUser(t *testing.T) {
	h := startHub(t, true, nil)
	if code := h.call("POST", "/api/v1/users", h.admin, map[string]string{"username": "wallop", "password": "wallop-pass-1", "role": "operator", "region": "140105"}, nil); code/100 != 2 {
		t.Fatalf("create user: %d", code)
	}
	b1 := browsertest.Start(t, browsertest.Options{})
	b2 := browsertest.Start(t, browsertest.Options{})
	p1, p2 := b1.NewPage(), b2.NewPage()
	const wallReady = `document.body.dataset.page === 'wall' && document.body.dataset.ready === '1' && window.pingan.play && document.querySelector('[data-testid="layout-select"]').dataset.loaded === '1'`

	uiLogin(p1, h.base, "wallop", "wallop-pass-1")
	p1.Do(20*time.Second, chromedp.Navigate(h.base+"/wall"))
	p1.WaitJS(wallReady, 20*time.Second)
	// An older console's layout in this browser's localStorage.
	browsertest.Eval[bool](p1, `(localStorage.setItem('pingan.wall.wallop', JSON.stringify({current: null,
		named: {'旧布局': {size: 1, tiles: [{stream: 'demo/2', label: '二号'}]}}})), true)`)
	p1.Do(20*time.Second, chromedp.Reload())
	p1.WaitJS(wallReady+` && window.pingan.savedLayouts().includes('旧布局')`, 20*time.Second)
	if left := browsertest.Eval[string](p1, `localStorage.getItem('pingan.wall.wallop')`); strings.Contains(left, "旧布局") {
		t.Fatalf("the migrated layout stayed in localStorage: %s", left)
	}

	// Build a 9-tile wall and save it under a name through the toolbar.
	p1.Do(10*time.Second, chromedp.Click(tid("layout-9")))
	browsertest.Eval[chromedp.Void](p1, `(window.pingan.clearWall(), window.pingan.play(0, 'demo/1'), window.pingan.play(4, 'demo/3'), undefined)`)
	p1.Do(20*time.Second,
		chromedp.Click(tid("layout-save")),
		chromedp.WaitVisible(tid("field-name")),
		chromedp.SetValue(tid("field-name"), "指挥大屏"),
		chromedp.Click(tid("dialog-ok")),
	)
	p1.WaitJS(`window.pingan.savedLayouts().includes('指挥大屏')`, 10*time.Second)
	p1.Screenshot("console-layout-saved")

	uiLogin(p2, h.base, "wallop", "wallop-pass-1")
	p2.Do(20*time.Second, chromedp.Navigate(h.base+"/wall"))
	p2.WaitJS(wallReady, 20*time.Second)
	if got := browsertest.Eval[[]string](p2, `window.pingan.savedLayouts()`); strings.Join(got, ",") != "指挥大屏,旧布局" {
		t.Fatalf("second session sees layouts %q", got)
	}
	p2.Do(10*time.Second,
		chromedp.SetValue(tid("layout-select"), "指挥大屏"),
		chromedp.Click(tid("layout-load")),
	)
	p2.WaitJS(`document.querySelector('[data-testid="wall"]').dataset.size === '9'`, 10*time.Second)
	got := browsertest.Eval[string](p2, `window.pingan.tiles().map(x => x.stream || '').join(',')`)
	if want := "demo/1,,,,demo/3,,,,"; got != want {
		t.Fatalf("loaded tiles %q, want %q", got, want)
	}
	p2.WaitJS(`Promise.resolve(window.pingan.tileStats(4)).then(s => s.framesDecoded > 0)`, 20*time.Second)
	p2.Screenshot("console-layout-loaded")

	// Another user sees none of them.
	var other struct {
		Layouts []struct{ Name string } `json:"layouts"`
	}
	if code := h.call("GET", "/api/v1/me/layouts", h.admin, nil, &other); code != http.StatusOK || len(other.Layouts) != 0 {
		t.Errorf("admin's layouts: %d %+v", code, other)
	}
	for _, p := range []*browsertest.Page{p1, p2} {
		if errs := p.ConsoleErrors(); len(errs) > 0 {
			t.Fatalf("console errors:\n%s", strings.Join(errs, "\n"))
		}
	}
}

// TestConsoleCaseTypeLimitEdit: an admin changes the dispute type's accept
// limit on the admin page; a case registered in the console afterwards gets
// the new deadline, one registered before keeps its own, and the change is
// in the audit log.
func TestConsoleCaseTypeLimitEdit(t *testing.T) {
	h := startHub(t, false, nil)
	type apiCase struct {
		Code     string    `json:"code"`
		Type     string    `json:"type"`
		Created  time.Time `json:"created"`
		Deadline time.Time `json:"deadline"`
	}
	var before apiCase
	if code := h.call("POST", "/api/v1/cases", h.admin, map[string]any{"type": "dispute", "source": "walkin", "title": "修改前登记", "region": "140105"}, &before); code != http.StatusCreated {
		t.Fatalf("create case: %d", code)
	}
	if d := before.Deadline.Sub(before.Created); d != 2*time.Hour {
		t.Fatalf("default accept limit %v, want 2h", d)
	}

	b := browsertest.Start(t, browsertest.Options{})
	p := b.NewPage()
	uiLogin(p, h.base, "admin", adminPassword)
	row := `document.querySelector('[data-testid="case-type-row"][data-type="dispute"]')`
	p.Do(20*time.Second, chromedp.Navigate(h.base+"/admin/case-types"))
	p.WaitJS(row, 20*time.Second)
	p.Do(20*time.Second,
		chromedp.Click(`[data-testid="case-type-row"][data-type="dispute"] [data-testid="case-type-edit"]`),
		chromedp.WaitVisible(tid("field-limit-accept")),
		chromedp.SetValue(tid("field-limit-accept"), "45m"),
		chromedp.SetValue(tid("field-name_en"), "Dispute"),
		chromedp.Click(tid("dialog-ok")),
	)
	p.WaitJS(row+` && `+row+`.dataset.version === '1' && `+row+`.querySelector('[data-stage="accept"]').textContent === '45m'`, 10*time.Second)
	p.Screenshot("console-case-types")

	p.Do(20*time.Second,
		chromedp.Navigate(h.base+"/cases/new"),
		chromedp.WaitVisible(tid("case-title")),
		chromedp.WaitReady(`[data-testid="case-type"] option[value="dispute"]`),
		chromedp.SetValue(tid("case-type"), "dispute"),
		chromedp.SendKeys(tid("case-title"), "修改后登记的纠纷"),
		chromedp.SetValue(tid("case-region"), "140105"),
		chromedp.Click(tid("case-submit")),
	)
	p.WaitJS(`document.body.dataset.page === 'case' && document.querySelector('[data-testid="case-code"]')`, 20*time.Second)
	code := browsertest.Eval[string](p, `document.querySelector('[data-testid="page-case"]').dataset.code`)
	var after apiCase
	if st := h.call("GET", "/api/v1/cases/"+code, h.admin, nil, &after); st != http.StatusOK {
		t.Fatalf("get case %s: %d", code, st)
	}
	if d := after.Deadline.Sub(after.Created); after.Type != "dispute" || d != 45*time.Minute {
		t.Errorf("case registered after the edit: type %s, accept deadline %v after registration, want 45m", after.Type, d)
	}
	var again apiCase
	h.call("GET", "/api/v1/cases/"+before.Code, h.admin, nil, &again)
	if !again.Deadline.Equal(before.Deadline) {
		t.Errorf("the earlier case's deadline moved: %v → %v", before.Deadline, again.Deadline)
	}

	var audit struct {
		Entries []struct{ Action, Actor, Target, Detail string } `json:"entries"`
	}
	h.call("GET", "/api/v1/audit?limit=1000", h.admin, nil, &audit)
	found := false
	for _, e := range audit.Entries {
		if e.Action == "casetype.update" && e.Target == "dispute" && e.Actor == "admin" && strings.Contains(e.Detail, "accept 2h0m0s→45m0s") {
			found = true
		}
	}
	if !found {
		t.Errorf("no casetype.update audit entry for dispute in %+v", audit.Entries)
	}
	p.Do(20*time.Second, chromedp.Navigate(h.base+"/admin/audit"))
	p.WaitJS(`[...document.querySelectorAll('[data-testid="audit-table"] td')].some(td => td.textContent === 'casetype.update')`, 10*time.Second)
	p.Screenshot("console-audit-casetype")
	if errs := p.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}
