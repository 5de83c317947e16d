package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pingan/internal/browsertest"
)

func tid(id string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`[data-testid=%q]`, id)) }

// uiLogin signs in through the console's login form.
func uiLogin(p *browsertest.Page, base, user, pass string) {
	p.Do(30*time.Second,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(tid("login-username")),
		chromedp.SendKeys(tid("login-username"), user),
		chromedp.SendKeys(tid("login-password"), pass),
		chromedp.Click(tid("login-submit")),
	)
	p.WaitJS(`document.body.dataset.page && document.body.dataset.page !== 'login' && document.body.dataset.ready === '1'`, 20*time.Second)
}

// TestConsoleWallPlaysDemoCamera: an operator logs in on the console, the
// wall plays a demo camera in a tile and getStats' framesDecoded grows.
func TestConsoleWallPlaysDemoCamera(t *testing.T) {
	h := startHub(t, true, nil)
	b := browsertest.Start(t, browsertest.Options{})
	p := b.NewPage()
	uiLogin(p, h.base, "admin", adminPassword)
	p.Do(20*time.Second, chromedp.Navigate(h.base+"/wall"))
	p.WaitJS(`document.body.dataset.page === 'wall' && document.body.dataset.ready === '1' && window.pingan.play`, 20*time.Second)
	start := time.Now()
	browsertest.Eval[chromedp.Void](p, `(window.pingan.play(0, 'demo/1'), undefined)`)
	p.WaitJS(`Promise.resolve(window.pingan.tileStats(0)).then(s => s.framesDecoded > 0)`, 20*time.Second)
	first := time.Since(start)
	frames := func() int {
		return browsertest.Eval[int](p, `Promise.resolve(window.pingan.tileStats(0)).then(s => s.framesDecoded)`)
	}
	n1 := frames()
	time.Sleep(1500 * time.Millisecond)
	n2 := frames()
	if n2 <= n1 {
		t.Fatalf("framesDecoded did not grow: %d then %d", n1, n2)
	}
	t.Logf("tile 0: first decoded frame %s after play(); %d frames in 1.5 s", first, n2-n1)
	p.Screenshot("console-wall")
	if errs := p.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("console errors on the wall page:\n%s", strings.Join(errs, "\n"))
	}
}

// TestConsoleCaseLiveAcrossSessions: a case registered in the console is
// accepted and routed there, and a second browser session (another user)
// sees its state change live on the incident board.
func TestConsoleCaseLiveAcrossSessions(t *testing.T) {
	h := startHub(t, false, nil)
	if code := h.call("POST", "/api/v1/departments", h.admin, map[string]string{"id": "sfs", "name": "司法所", "region": "140105"}, nil); code/100 != 2 {
		t.Fatalf("create department: %d", code)
	}
	if code := h.call("POST", "/api/v1/users", h.admin, map[string]string{"username": "watcher", "password": "watcher-pass-1", "role": "operator", "region": "1401"}, nil); code/100 != 2 {
		t.Fatalf("create user: %d", code)
	}
	b1 := browsertest.Start(t, browsertest.Options{})
	b2 := browsertest.Start(t, browsertest.Options{})
	op := b1.NewPage()
	watch := b2.NewPage()
	uiLogin(op, h.base, "admin", adminPassword)
	uiLogin(watch, h.base, "watcher", "watcher-pass-1")

	op.Do(20*time.Second,
		chromedp.Navigate(h.base+"/cases/new"),
		chromedp.WaitVisible(tid("case-title")),
		chromedp.SendKeys(tid("case-title"), "楼道堆物消防隐患"),
		chromedp.SetValue(tid("case-region"), "140105"),
		chromedp.SendKeys(tid("case-address"), "小店区平阳路 12 号"),
		chromedp.Click(tid("case-submit")),
	)
	op.WaitJS(`document.body.dataset.page === 'case' && document.querySelector('[data-testid="case-code"]')`, 20*time.Second)
	code := browsertest.Eval[string](op, `document.querySelector('[data-testid="page-case"]').dataset.code`)
	if code == "" {
		t.Fatal("no case code on the case page")
	}

	watch.Do(20*time.Second, chromedp.Navigate(h.base+"/cases"))
	row := fmt.Sprintf(`document.querySelector('[data-testid="case-row"][data-code=%q]')`, code)
	watch.WaitJS(row, 20*time.Second)
	if st := browsertest.Eval[string](watch, row+`.dataset.state`); st != "registered" {
		t.Fatalf("watcher sees state %q, want registered", st)
	}

	op.Do(20*time.Second, chromedp.Click(`[data-testid="transition"][data-action="accept"]`))
	watch.WaitJS(row+`.dataset.state === 'accepted'`, 10*time.Second)

	op.WaitJS(`document.querySelector('[data-testid="transition"][data-action="route"]')`, 10*time.Second)
	op.Do(20*time.Second, chromedp.Click(`[data-testid="transition"][data-action="route"]`))
	op.WaitJS(`document.querySelector('[data-testid="field-departments"]')`, 10*time.Second)
	browsertest.Eval[bool](op, `(() => { const s = document.querySelector('[data-testid="field-departments"]');
		for (const o of s.options) o.selected = o.value === 'sfs'; return true; })()`)
	op.Do(10*time.Second, chromedp.Click(tid("dialog-ok")))
	watch.WaitJS(row+`.dataset.state === 'routed'`, 10*time.Second)
	colour := browsertest.Eval[string](watch, row+`.dataset.colour`)
	if colour != "green" && colour != "yellow" && colour != "red" {
		t.Fatalf("colour badge %q", colour)
	}
	op.Screenshot("console-case")
	watch.Screenshot("console-cases")
	for _, p := range []*browsertest.Page{op, watch} {
		if errs := p.ConsoleErrors(); len(errs) > 0 {
			t.Fatalf("console errors:\n%s", strings.Join(errs, "\n"))
		}
	}
}

// TestConsoleEveryPage: every page renders without console errors; a
// screenshot of each is kept as a test artifact.
func TestConsoleEveryPage(t *testing.T) {
	h := startHub(t, true, nil)
	b := browsertest.Start(t, browsertest.Options{})
	p := b.NewPage()
	uiLogin(p, h.base, "admin", adminPassword)
	for _, page := range []struct{ path, name string }{
		{"/wall", "wall"}, {"/cases", "cases"}, {"/cases/new", "case-new"}, {"/incidents", "incidents"},
		{"/stats", "stats"}, {"/admin", "admin"}, {"/admin/case-types", "admin-case-types"}, {"/admin/devices", "admin-devices"},
		{"/admin/audit", "admin-audit"},
		{"/meeting", "meetings"}, {"/class", "classes"},
	} {
		p.Do(20*time.Second, chromedp.Navigate(h.base+page.path))
		p.WaitJS(`document.body.dataset.ready === '1'`, 20*time.Second)
		time.Sleep(300 * time.Millisecond)
		p.Screenshot("page-" + page.name)
	}
	if errs := p.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}
