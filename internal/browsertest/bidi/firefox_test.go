package bidi_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pingan/internal/browsertest/bidi"
)

const testPage = `<!doctype html><meta charset="utf-8"><title>t</title>
<input id="name" autocomplete="off"><button id="go" onclick="document.body.dataset.clicked = (+document.body.dataset.clicked || 0) + 1">go</button>
<select id="sel"><option value="a">a</option><option value="b">b</option></select>
<script>console.log('hello'); console.error('boom from page');</script>`

func pageServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(testPage))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestFirefoxDrivesAPage: the client starts Firefox, navigates, evaluates
// and calls functions (values come back typed), sees console errors and
// uncaught exceptions, clicks and types like a user, and takes a PNG.
func TestFirefoxDrivesAPage(t *testing.T) {
	b := bidi.ForTest(t, bidi.Options{})
	ctx := tctx(t)
	tabs, err := b.Tabs(ctx)
	if err != nil || len(tabs) == 0 {
		t.Fatalf("getTree: %v (%d tabs)", err, len(tabs))
	}
	tab, err := b.NewTab(ctx, 1024, 700)
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.Navigate(ctx, pageServer(t)); err != nil {
		t.Fatal(err)
	}

	var got struct {
		N    float64
		S    string
		L    []int
		M    map[string]bool
		Null *int
	}
	if err := tab.Evaluate(ctx, `Promise.resolve({n: 1.5, s: '中文', l: [1, 2, 3], m: {ok: true}, null: null})`, &got); err != nil {
		t.Fatal(err)
	}
	if got.N != 1.5 || got.S != "中文" || len(got.L) != 3 || got.L[2] != 3 || !got.M["ok"] || got.Null != nil {
		t.Fatalf("evaluate: %+v", got)
	}
	var sum int
	if err := tab.CallFunction(ctx, `async (a, b, o) => a + b + o.c.length`, &sum, 2, 3, map[string]any{"c": []string{"x", "y"}}); err != nil {
		t.Fatal(err)
	}
	if sum != 7 {
		t.Fatalf("callFunction: %d, want 7", sum)
	}
	var se *bidi.ScriptError
	if err := tab.Evaluate(ctx, `Promise.reject(new Error('nope'))`, nil); !errors.As(err, &se) || !strings.Contains(se.Text, "nope") {
		t.Fatalf("rejected promise: %v", err)
	}

	if err := tab.Type(ctx, "#name", "楼道 ab1"); err != nil {
		t.Fatal(err)
	}
	if err := tab.Click(ctx, "#go"); err != nil {
		t.Fatal(err)
	}
	var state struct{ Value, Clicked string }
	if err := tab.Evaluate(ctx, `({value: document.querySelector('#name').value, clicked: document.body.dataset.clicked})`, &state); err != nil {
		t.Fatal(err)
	}
	if state.Value != "楼道 ab1" || state.Clicked != "1" {
		t.Fatalf("after typing and a click: %+v", state)
	}
	if err := tab.Click(ctx, "#missing"); !errors.Is(err, bidi.ErrNoElement) {
		t.Fatalf("click on nothing: %v", err)
	}

	if err := tab.Evaluate(ctx, `setTimeout(() => { throw new Error('uncaught in timer'); }, 0), 1`, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var page, uncaught bool
		for _, e := range tab.Errors() {
			page = page || (e.Type == "console" && strings.Contains(e.Text, "boom from page"))
			uncaught = uncaught || (e.Type == "javascript" && strings.Contains(e.Text, "uncaught in timer"))
		}
		if page && uncaught {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("errors seen: %v (all logs %v)", tab.Errors(), tab.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, e := range tab.Errors() {
		if strings.Contains(e.Text, "hello") {
			t.Fatalf("console.log reported as an error: %v", e)
		}
	}

	png, err := tab.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	if err := tab.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestFirefoxCloseCleansUp: Close quits the browser, ends every process of
// its group and removes the profile; later calls fail with ErrClosed.
func TestFirefoxCloseCleansUp(t *testing.T) {
	b := bidi.ForTest(t, bidi.Options{})
	ctx := tctx(t)
	profile := b.Profile()
	if _, err := os.Stat(profile + "/user.js"); err != nil {
		t.Fatalf("profile has no user.js: %v", err)
	}
	pid := b.Pid()
	start := time.Now()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("closed in %s", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(profile); !os.IsNotExist(err) {
		t.Fatalf("profile %s still there: %v", profile, err)
	}
	if alive := processGroupAlive(pid); alive {
		t.Fatalf("processes of group %d still running", pid)
	}
	if _, err := b.Tabs(ctx); !errors.Is(err, bidi.ErrClosed) {
		t.Fatalf("call after close: %v", err)
	}
}

// TestLaunchFailsClearly: a binary that exits without announcing a BiDi
// address makes Launch fail with ErrNoListenLine at once, and its profile
// is removed.
func TestLaunchFailsClearly(t *testing.T) {
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "pingan-firefox-*"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := bidi.Launch(ctx, bidi.Options{Path: "/bin/true"})
	if !errors.Is(err, bidi.ErrNoListenLine) {
		t.Fatalf("launch /bin/true: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("failure noticed after %s", d)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "pingan-firefox-*"))
	if len(after) > len(before) {
		t.Fatalf("profiles left behind: %v", after)
	}
}
