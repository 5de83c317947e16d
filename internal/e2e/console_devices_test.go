package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pingan/gateway/gb28181/sim"
	"pingan/internal/browsertest"
)

// TestConsoleDeviceAdd: an administrator enters a camera with its own
// password on the devices page. A malformed id is caught in the form before
// anything is sent; the new device shows up in the list at once (no reload),
// offline and with its own password; a simulated camera that registers with
// that password turns it online on the same page; entering the id again
// shows the hub's 409 next to the form, and a region-scoped administrator
// sees the hub's 403 for an id outside their region.
func TestConsoleDeviceAdd(t *testing.T) {
	h := startHub(t, false, gbHubConfig)
	const dev = "14010500001320000777"
	const devPass = "own-Pa55"
	b := browsertest.Start(t, browsertest.Options{})
	p := b.NewPage()
	uiLogin(p, h.base, "admin", adminPassword)
	p.Do(20*time.Second, chromedp.Navigate(h.base+"/admin/devices"))
	p.WaitJS(`document.querySelector('[data-testid="device-table"]')`, 20*time.Second)
	browsertest.Eval[bool](p, `(window.__sameDocument = true)`)

	// Open the form; a 19-digit id is refused in the form itself.
	p.Do(20*time.Second,
		chromedp.Click(tid("device-add")),
		chromedp.WaitVisible(tid("device-add-id")),
		chromedp.SendKeys(tid("device-add-id"), dev[:19]),
		chromedp.Click(tid("device-add-submit")),
	)
	hint := `document.querySelector('[data-testid="device-add-id-hint"]')`
	p.WaitJS(hint+`.classList.contains('bad') && document.querySelector('[data-testid="device-add-id"]').getAttribute('aria-invalid') === 'true'`, 5*time.Second)
	if msg := browsertest.Eval[string](p, hint+`.textContent`); !strings.Contains(msg, "19") {
		t.Errorf("hint for a 19-digit id: %q", msg)
	}
	p.Screenshot("console-device-bad-id")
	var none struct {
		Devices []deviceJSON `json:"devices"`
	}
	if h.call("GET", "/api/v1/devices", h.admin, nil, &none); len(none.Devices) != 0 {
		t.Fatalf("a malformed id reached the hub: %+v", none.Devices)
	}

	// Complete the id; the hint names the region. Fill the rest, checking
	// the show/hide toggle on the password.
	p.Do(20*time.Second,
		chromedp.SendKeys(tid("device-add-id"), dev[19:]),
		chromedp.SendKeys(tid("device-add-name"), "东门卡口"),
		chromedp.SendKeys(tid("device-add-password"), devPass),
		chromedp.SetValue(tid("device-add-transport"), "tcp-passive"),
		chromedp.SetValue(tid("device-add-charset"), "GB18030"),
	)
	p.WaitJS(hint+`.classList.contains('ok') && `+hint+`.textContent.includes('140105')`, 5*time.Second)
	pw := `document.querySelector('[data-testid="device-add-password"]')`
	reveal := `document.querySelector('[data-testid="device-add-reveal"]')`
	p.Do(5*time.Second, chromedp.Click(tid("device-add-reveal")))
	if got := browsertest.Eval[string](p, pw+`.type + ' ' + `+reveal+`.getAttribute('aria-pressed')`); got != "text true" {
		t.Errorf("after show: password input type and aria-pressed %q", got)
	}
	p.Do(5*time.Second, chromedp.Click(tid("device-add-reveal")))
	if got := browsertest.Eval[string](p, pw+`.type`); got != "password" {
		t.Errorf("after hide: password input type %q", got)
	}

	start := time.Now()
	p.Do(10*time.Second, chromedp.Click(tid("device-add-submit")))
	row := `document.querySelector('[data-testid="device-row"][data-device="` + dev + `"]')`
	// Well under the page's 10 s poll: the row comes from the POST's answer.
	p.WaitJS(row, 5*time.Second)
	t.Logf("device row shown %s after submit", time.Since(start))
	if got := browsertest.Eval[string](p, `[`+row+`.dataset.online, `+row+`.dataset.password, `+row+`.dataset.transport,
		`+row+`.querySelector('[data-testid="device-status"]').textContent.trim(),
		`+row+`.querySelector('[data-testid="device-password"]').textContent.trim()].join('|')`); got != "|1|tcp-passive|离线|独立密码" {
		t.Errorf("new row (online|password|transport|status|password text) = %q", got)
	}
	if left := browsertest.Eval[string](p, `document.querySelector('[data-testid="device-add-id"]').value + document.querySelector('[data-testid="device-add-error"]').textContent`); left != "" {
		t.Errorf("form not reset after adding: %q", left)
	}
	var created struct {
		deviceJSON
		Charset     string `json:"charset"`
		HasPassword bool   `json:"has_password"`
	}
	if code := h.call("GET", "/api/v1/devices/"+dev, h.admin, nil, &created); code != 200 ||
		created.Name != "东门卡口" || created.Transport != "tcp-passive" || created.Charset != "GB18030" || !created.HasPassword || created.Online {
		t.Fatalf("GET device: %d %+v", code, created)
	}
	p.Screenshot("console-device-added")

	// The camera registers with its own password; the page shows it online.
	start = time.Now()
	h.startSim(sim.Config{DeviceID: dev, Password: devPass, Keepalive: 300 * time.Millisecond})
	p.WaitJS(row+` && `+row+`.dataset.online === '1' && `+row+`.querySelector('[data-testid="device-status"]').textContent.includes('在线')`, 20*time.Second)
	t.Logf("device shown online %s after the simulated camera started", time.Since(start))
	if !browsertest.Eval[bool](p, `window.__sameDocument === true`) {
		t.Error("the page reloaded")
	}
	p.Screenshot("console-device-online")

	// The same id again: the hub's 409 next to the form.
	p.Do(20*time.Second,
		chromedp.SendKeys(tid("device-add-id"), dev),
		chromedp.Click(tid("device-add-submit")),
	)
	errBox := `document.querySelector('[data-testid="device-add-error"]')`
	p.WaitJS(errBox+`.dataset.status === '409'`, 10*time.Second)
	hubMsg := `document.querySelector('[data-testid="device-add-hub-message"]').textContent`
	if got, want := browsertest.Eval[string](p, hubMsg), h.refusal(h.admin, dev, 409); got != want {
		t.Errorf("409 shown as %q, the hub says %q", got, want)
	}
	if msg := browsertest.Eval[string](p, errBox+`.textContent`); !strings.Contains(msg, "设备 "+dev+" 已存在") {
		t.Errorf("409 headline: %q", msg)
	}
	if n := browsertest.Eval[int](p, `document.querySelectorAll('[data-testid="device-row"]').length`); n != 1 {
		t.Errorf("%d rows after the duplicate, want 1", n)
	}
	p.WaitJS(`document.querySelector('[data-testid="device-add-edit-existing"]')`, 5*time.Second)
	p.Screenshot("console-device-duplicate")

	// A Datong administrator (1402) entering a Taiyuan id gets the hub's 403.
	if code := h.call("POST", "/api/v1/users", h.admin, map[string]string{"username": "admin-datong", "password": "datong-pass-1", "role": "admin", "region": "1402"}, nil); code != 201 {
		t.Fatalf("create scoped admin: %d", code)
	}
	b2 := browsertest.Start(t, browsertest.Options{})
	p2 := b2.NewPage()
	uiLogin(p2, h.base, "admin-datong", "datong-pass-1")
	p2.Do(20*time.Second, chromedp.Navigate(h.base+"/admin/devices"))
	p2.WaitJS(`document.querySelector('[data-testid="device-table"]')`, 20*time.Second)
	if n := browsertest.Eval[int](p2, `document.querySelectorAll('[data-testid="device-row"]').length`); n != 0 {
		t.Errorf("the Datong admin sees %d Taiyuan devices", n)
	}
	submitRefusedDevice(p2, "14010500001320000779", "403")
	scoped := h.login("admin-datong", "datong-pass-1")
	if got, want := browsertest.Eval[string](p2, hubMsg), h.refusal(scoped, "14010500001320000779", 403); got != want {
		t.Errorf("403 shown as %q, the hub says %q", got, want)
	}
	if msg := browsertest.Eval[string](p2, errBox+`.textContent`); !strings.HasPrefix(msg, "区域 140105 不在您的管辖范围内") || strings.Contains(msg, "null") {
		t.Errorf("403 text: %q", msg)
	}
	if _, code := h.device("14010500001320000779"); code != 404 {
		t.Errorf("out-of-scope device was created: GET %d", code)
	}
	p2.Screenshot("console-device-scope")

	// The same refusal in English, after switching the console's language.
	browsertest.Eval[string](p2, `window.pingan.lang('en')`)
	p2.WaitJS(`document.body.dataset.ready === '1' && document.querySelector('[data-testid="device-table"]')`, 20*time.Second)
	submitRefusedDevice(p2, "14010500001320000779", "403")
	if msg := browsertest.Eval[string](p2, errBox+`.textContent`); !strings.HasPrefix(msg, "Region 140105 is outside your scope:") {
		t.Errorf("403 text in English: %q", msg)
	}
	p2.Screenshot("console-device-scope-en")

	// Chromium logs each answer with an error status; the refusals the test
	// provoked are expected, anything else is not.
	for _, c := range []struct {
		p      *browsertest.Page
		status string
		n      int
	}{{p, "409", 1}, {p2, "403", 2}} {
		if errs := unexpectedConsoleErrors(c.p, "/api/v1/devices", c.status, c.n); len(errs) > 0 {
			t.Fatalf("console errors:\n%s", strings.Join(errs, "\n"))
		}
	}
}

// submitRefusedDevice opens the add-device form on p, submits id alone
// and waits until the form shows the hub's refusal with status.
func submitRefusedDevice(p *browsertest.Page, id, status string) {
	p.Do(20*time.Second,
		chromedp.Click(tid("device-add")),
		chromedp.WaitVisible(tid("device-add-id")),
		chromedp.SendKeys(tid("device-add-id"), id),
		chromedp.Click(tid("device-add-submit")),
	)
	p.WaitJS(`document.querySelector('[data-testid="device-add-error"]').dataset.status === '`+status+`'`, 10*time.Second)
}

// refusal POSTs a device id that the hub must refuse with status and
// returns the hub's error message.
func (h *testHub) refusal(token, id string, status int) string {
	h.t.Helper()
	var out struct {
		Error struct{ Message string } `json:"error"`
	}
	if code := h.call("POST", "/api/v1/devices", token, map[string]string{"id": id}, &out); code != status || out.Error.Message == "" {
		h.t.Fatalf("POST device %s: %d %q, want %d with a message", id, code, out.Error.Message, status)
	}
	return out.Error.Message
}

// unexpectedConsoleErrors is p's console errors except up to n of the
// browser's network log lines for a status answer from path.
func unexpectedConsoleErrors(p *browsertest.Page, path, status string, n int) []string {
	var out []string
	for _, e := range p.ConsoleErrors() {
		if n > 0 && strings.Contains(e, path+":") && strings.Contains(e, "Failed to load resource: the server responded with a status of "+status+" ") {
			n--
			continue
		}
		out = append(out, e)
	}
	return out
}
