package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pingan/internal/browsertest/bidi"
)

// Issue 7: the console works in recent Chromium and Firefox. These tests
// drive firefox-esr over WebDriver BiDi (no geckodriver); they skip when
// Firefox is not installed, except in CI where that is a failure.

// ffPage is one Firefox tab with test helpers.
type ffPage struct {
	t   *testing.T
	tab *bidi.Tab
}

func startFirefox(t *testing.T) *ffPage {
	t.Helper()
	b := bidi.ForTest(t, bidi.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tab, err := b.NewTab(ctx, 1600, 900)
	if err != nil {
		t.Fatalf("firefox tab: %v\n%s", err, b.Stderr())
	}
	return &ffPage{t: t, tab: tab}
}

func (p *ffPage) ctx(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func (p *ffPage) navigate(url string) {
	p.t.Helper()
	ctx, cancel := p.ctx(30 * time.Second)
	defer cancel()
	if err := p.tab.Navigate(ctx, url); err != nil {
		p.t.Fatalf("navigate %s: %v", url, err)
	}
}

// eval evaluates js (awaiting a promise) into out.
func (p *ffPage) eval(js string, out any) {
	p.t.Helper()
	ctx, cancel := p.ctx(30 * time.Second)
	defer cancel()
	if err := p.tab.Evaluate(ctx, js, out); err != nil {
		p.t.Fatalf("eval %s: %v", js, err)
	}
}

// waitJS polls js (a value or a promise) until it is truthy.
func (p *ffPage) waitJS(js string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := p.ctx(10 * time.Second)
		var ok bool
		err := p.tab.Evaluate(ctx, "Promise.resolve("+js+").then(v => !!v)", &ok)
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.screenshot("failed-wait")
			p.t.Fatalf("timed out after %s waiting for %s (last error %v)", timeout, js, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *ffPage) click(selector string) {
	p.t.Helper()
	ctx, cancel := p.ctx(20 * time.Second)
	defer cancel()
	if err := p.tab.Click(ctx, selector); err != nil {
		p.t.Fatalf("click %s: %v", selector, err)
	}
}

func (p *ffPage) typeText(selector, text string) {
	p.t.Helper()
	ctx, cancel := p.ctx(20 * time.Second)
	defer cancel()
	if err := p.tab.Type(ctx, selector, text); err != nil {
		p.t.Fatalf("type into %s: %v", selector, err)
	}
}

// screenshot saves a PNG under $PINGAN_ARTIFACTS (or the test's temp dir)
// as firefox-<name>.png, like browsertest.Page.Screenshot does for Chromium.
func (p *ffPage) screenshot(name string) string {
	p.t.Helper()
	ctx, cancel := p.ctx(20 * time.Second)
	defer cancel()
	png, err := p.tab.Screenshot(ctx)
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	dir := os.Getenv("PINGAN_ARTIFACTS")
	if dir == "" {
		dir = p.t.TempDir()
	}
	_ = os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "firefox-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// errors returns console errors and uncaught exceptions so far.
func (p *ffPage) errors() []string {
	var out []string
	for _, e := range p.tab.Errors() {
		out = append(out, e.String())
	}
	return out
}

func (p *ffPage) noErrors(where string) {
	p.t.Helper()
	if errs := p.errors(); len(errs) > 0 {
		p.t.Fatalf("console errors in Firefox (%s):\n%s", where, strings.Join(errs, "\n"))
	}
}

// ffLogin signs in through the console's login form, typing like a user.
func ffLogin(p *ffPage, base, user, pass string) {
	p.t.Helper()
	p.navigate(base + "/login")
	p.waitJS(`document.querySelector('[data-testid="login-username"]')`, 20*time.Second)
	p.typeText(`[data-testid="login-username"]`, user)
	p.typeText(`[data-testid="login-password"]`, pass)
	p.click(`[data-testid="login-submit"]`)
	p.waitJS(`document.body.dataset.page && document.body.dataset.page !== 'login' && document.body.dataset.ready === '1'`, 20*time.Second)
}

// visible is JS that is true when selector matches a rendered element
// with a size.
func visible(selector string) string {
	return fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false; const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; })()`, selector)
}

// h264JS is true when the browser's WebRTC stack has H.264.
const h264JS = `RTCRtpReceiver.getCapabilities('video').codecs.some(c => c.mimeType.toLowerCase() === 'video/h264')`

// streamCodecs waits until the hub lists stream id online with its
// codecs and returns them.
func streamCodecs(t *testing.T, h *testHub, id string) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var list struct {
			Streams []struct {
				ID     string
				Online bool
				Codecs []string
			}
		}
		h.call("GET", "/api/v1/streams", h.admin, nil, &list)
		for _, s := range list.Streams {
			if s.ID == id && s.Online && len(s.Codecs) > 0 {
				return s.Codecs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not online with codecs: %+v", id, list.Streams)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestFirefoxConsoleEveryPage: in Firefox an admin logs in on the
// console, every page renders its main element without console errors or
// uncaught exceptions (a screenshot of each is kept), and a case
// registered in the form shows in the case list.
func TestFirefoxConsoleEveryPage(t *testing.T) {
	h := startHub(t, true, nil)
	var c e2eCase
	h.mustCall(http.StatusCreated, "POST", "/api/v1/cases", h.admin, map[string]any{"type": "dispute", "source": "walkin",
		"title": "邻里噪音纠纷", "region": "140105"}, &c)
	var inc struct{ ID string }
	h.mustCall(http.StatusCreated, "POST", "/api/v1/incidents", h.admin, map[string]any{"case": c.Code, "severity": 2}, &inc)
	var meeting, class struct{ ID string }
	h.mustCall(http.StatusCreated, "POST", "/api/v1/rooms", h.admin, map[string]string{"kind": "meeting", "name": "调解会议"}, &meeting)
	h.mustCall(http.StatusCreated, "POST", "/api/v1/rooms", h.admin, map[string]string{"kind": "class", "name": "调解员培训"}, &class)

	p := startFirefox(t)
	ffLogin(p, h.base, "admin", adminPassword)
	tid := func(id string) string { return fmt.Sprintf(`[data-testid=%q]`, id) }
	for _, page := range []struct{ path, name, main string }{
		{"/wall", "wall", tid("page-wall")},
		{"/incidents", "incidents", tid("page-incidents")},
		{"/incidents/" + inc.ID, "incident", tid("page-incident")},
		{"/cases", "cases", tid("page-cases")},
		{"/cases/" + c.Code, "case", tid("page-case")},
		{"/cases/new", "case-new", tid("page-case-new")},
		{"/stats", "stats", tid("page-stats")},
		{"/admin", "admin", tid("admin-users")},
		{"/admin/departments", "admin-departments", tid("admin-departments")},
		{"/admin/case-types", "admin-case-types", tid("admin-case-types")},
		{"/admin/devices", "admin-devices", tid("admin-devices")},
		{"/admin/audit", "admin-audit", tid("admin-audit")},
		{"/meeting", "meetings", tid("page-meetings")},
		{"/meeting/" + meeting.ID, "meeting", tid("page-meeting")},
		{"/class", "classes", tid("page-classes")},
		{"/class/" + class.ID, "class", tid("page-class")},
	} {
		start := time.Now()
		p.navigate(h.base + page.path)
		p.waitJS(`document.body.dataset.ready === '1'`, 20*time.Second)
		p.waitJS(visible(page.main), 20*time.Second)
		time.Sleep(500 * time.Millisecond) // let late fetches and sockets report errors
		p.screenshot("page-" + page.name)
		p.noErrors(page.path)
		t.Logf("%-28s rendered in %s", page.path, time.Since(start).Round(time.Millisecond))
	}

	// The meeting page joined and published the fake camera and
	// microphone. Which codecs reached the hub tells whether other
	// participants see this Firefox's video: the hub takes H.264/H.265
	// video only, and Firefox without OpenH264 offers VP8/VP9/AV1.
	p.navigate(h.base + "/meeting/" + meeting.ID)
	room := `document.querySelector('[data-testid="page-meeting"]')`
	p.waitJS(room+` && `+room+`.dataset.state === 'joined' && `+room+`.dataset.published === '1'`, 30*time.Second)
	var me string
	p.eval(room+`.dataset.participant`, &me)
	codecs := streamCodecs(t, h, "room/"+meeting.ID+"/"+me)
	var h264 bool
	p.eval(h264JS, &h264)
	if h264 && !slices.Contains(codecs, "H264") {
		t.Fatalf("Firefox can send H.264 but published %v", codecs)
	}
	t.Logf("Firefox published %v to the meeting (H.264 in this Firefox: %v)", codecs, h264)
	p.noErrors("meeting join")

	// Register a case in the form; it opens on its own page and is listed.
	p.navigate(h.base + "/cases/new")
	p.waitJS(`document.querySelector('[data-testid="case-type"] option')`, 20*time.Second)
	p.typeText(`[data-testid="case-title"]`, "楼道堆物消防隐患")
	p.typeText(`[data-testid="case-region"]`, "140105")
	p.typeText(`[data-testid="case-address"]`, "小店区平阳路 12 号")
	p.click(`[data-testid="case-submit"]`)
	p.waitJS(`document.body.dataset.page === 'case' && document.querySelector('[data-testid="case-code"]')`, 20*time.Second)
	var code string
	p.eval(`document.querySelector('[data-testid="page-case"]').dataset.code`, &code)
	if code == "" || code == c.Code {
		t.Fatalf("case page shows code %q", code)
	}
	p.screenshot("case-created")
	p.navigate(h.base + "/cases")
	row := fmt.Sprintf(`document.querySelector('[data-testid="case-row"][data-code=%q]')`, code)
	p.waitJS(row, 20*time.Second)
	var title string
	p.eval(row+`.textContent`, &title)
	if !strings.Contains(title, "楼道堆物消防隐患") {
		t.Fatalf("case row %s reads %q", code, title)
	}
	p.screenshot("cases-after-create")
	p.noErrors("case registration")
}

// TestFirefoxWallTile: a camera on the wall in Firefox either plays
// (framesDecoded grows) or, when Firefox cannot decode H.264 (Debian's
// firefox-esr without the OpenH264 plugin it would download), the tile
// says so in the console's language and stops retrying, instead of
// "reconnecting" forever.
func TestFirefoxWallTile(t *testing.T) {
	h := startHub(t, true, nil)
	p := startFirefox(t)
	ffLogin(p, h.base, "admin", adminPassword)
	p.navigate(h.base + "/wall")
	p.waitJS(`document.body.dataset.page === 'wall' && document.body.dataset.ready === '1' && window.pingan.play`, 20*time.Second)
	var h264 bool
	p.eval(h264JS, &h264)
	// demo/1 is the first channel of the first demo device: wait until it
	// has registered over GB28181 (a tile started before that waits out a
	// growing backoff).
	h.waitDevice("14010500001180000001", 2)
	start := time.Now()
	p.eval(`(window.pingan.play(0, 'demo/1'), undefined)`, nil)

	if h264 {
		p.waitJS(`window.pingan.tileStats(0).then(s => s.framesDecoded > 0)`, 20*time.Second)
		first := time.Since(start)
		var n1, n2 int
		p.eval(`window.pingan.tileStats(0).then(s => s.framesDecoded)`, &n1)
		time.Sleep(1500 * time.Millisecond)
		p.eval(`window.pingan.tileStats(0).then(s => s.framesDecoded)`, &n2)
		if n2 <= n1 {
			t.Fatalf("framesDecoded did not grow: %d then %d", n1, n2)
		}
		t.Logf("Firefox decodes H.264: first frame %s after play(); %d frames in 1.5 s", first, n2-n1)
		p.screenshot("wall-playing")
		p.noErrors("wall")
		return
	}

	t.Log("this Firefox has no H.264 decoder for WebRTC (no OpenH264 plugin): expecting the tile to say so")
	tile := `document.querySelector('[data-testid="tile"][data-index="0"]')`
	status := tile + `.querySelector('[data-testid="tile-status"]')`
	p.waitJS(tile+`.dataset.state === 'error' && `+tile+`.dataset.error === 'no_h264'`, 30*time.Second)
	t.Logf("tile shows the codec message %s after play()", time.Since(start).Round(time.Millisecond))
	var zh string
	p.eval(`(() => { const s = `+status+`; return s.hidden ? '' : s.textContent; })()`, &zh)
	for _, want := range []string{"H.264", "OpenH264", "Chrome"} {
		if !strings.Contains(zh, want) {
			t.Fatalf("tile status %q does not mention %s", zh, want)
		}
	}
	p.screenshot("wall-no-h264")
	// It stays put: no reconnect loop that cannot succeed.
	time.Sleep(3 * time.Second)
	var state string
	p.eval(tile+`.dataset.state`, &state)
	if state != "error" {
		t.Fatalf("tile went from the codec error to %q", state)
	}

	// In English too (the wall keeps its layout across the re-render).
	p.eval(`(window.pingan.lang('en'), undefined)`, nil)
	p.waitJS(`document.body.dataset.page === 'wall' && document.body.dataset.ready === '1'`, 20*time.Second)
	p.waitJS(tile+` && `+tile+`.dataset.error === 'no_h264'`, 20*time.Second)
	var en string
	p.eval(status+`.textContent`, &en)
	if !strings.Contains(en, "cannot decode H.264") {
		t.Fatalf("English tile status %q", en)
	}
	p.screenshot("wall-no-h264-en")
	p.noErrors("wall without H.264")
}
