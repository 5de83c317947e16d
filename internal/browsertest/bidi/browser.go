// Package bidi is a small WebDriver BiDi client (https://w3c.github.io/webdriver-bidi/)
// that drives Firefox without geckodriver: it starts firefox-esr headless
// with a fresh profile and --remote-debugging-port, talks BiDi over the
// WebSocket Firefox opens, and offers what console tests need — tabs,
// navigation, script evaluation, clicks and typing, console errors and
// uncaught exceptions (log.entryAdded), and PNG screenshots. It imports
// nothing of ours.
package bidi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options tune Launch.
type Options struct {
	// Path is the browser binary; empty means "firefox-esr" on $PATH.
	Path string
	// ShowWindow runs the browser with a window (default: headless).
	ShowWindow bool
	// Prefs are extra about:config preferences written to user.js; they
	// override the defaults (see prefs).
	Prefs map[string]any
	// Log receives the client's diagnostics and, at Debug, the browser's
	// stderr. Nil means slog.Default().
	Log *slog.Logger
}

// Browser is one running Firefox with an open BiDi session.
type Browser struct {
	conn    *Conn
	cmd     *exec.Cmd
	profile string
	log     *slog.Logger
	exited  chan struct{} // closed when the process has been reaped
	stderr  *tail
	version string // "firefox 153.7.0"

	mu   sync.Mutex
	logs []LogEntry
	subs []func(LogEntry)

	closeOnce sync.Once
}

var listenLine = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

// Launch starts a headless Firefox on a fresh profile, connects to its
// WebDriver BiDi endpoint and opens a session. ctx bounds the start; the
// browser lives until Close.
func Launch(ctx context.Context, o Options) (_ *Browser, err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	path := o.Path
	if path == "" {
		if path, err = exec.LookPath("firefox-esr"); err != nil {
			return nil, fmt.Errorf("bidi: %w", err)
		}
	}
	profile, err := os.MkdirTemp("", "pingan-firefox-*")
	if err != nil {
		return nil, fmt.Errorf("bidi: profile dir: %w", err)
	}
	b := &Browser{profile: profile, log: o.Log, exited: make(chan struct{}), stderr: newTail(200)}
	defer func() {
		if err != nil {
			b.shutdown(context.Background())
		}
	}()
	if err := writeUserJS(profile, o.Prefs); err != nil {
		return nil, err
	}
	url, err := b.start(ctx, path, !o.ShowWindow)
	if err != nil {
		return nil, err
	}
	b.conn, err = Dial(ctx, url+"/session", o.Log, b.onEvent)
	if err != nil {
		return nil, err
	}
	var res struct {
		SessionID    string `json:"sessionId"`
		Capabilities struct {
			BrowserName    string `json:"browserName"`
			BrowserVersion string `json:"browserVersion"`
		} `json:"capabilities"`
	}
	caps := map[string]any{"alwaysMatch": map[string]any{
		"acceptInsecureCerts":     true,
		"unhandledPromptBehavior": map[string]any{"default": "dismiss"},
	}}
	if err := b.conn.Call(ctx, "session.new", map[string]any{"capabilities": caps}, &res); err != nil {
		return nil, err
	}
	if err := b.conn.Call(ctx, "session.subscribe", map[string]any{"events": []string{"log.entryAdded"}}, nil); err != nil {
		return nil, err
	}
	b.version = res.Capabilities.BrowserName + " " + res.Capabilities.BrowserVersion
	b.log.Debug("firefox started", "version", b.version, "session", res.SessionID, "pid", b.cmd.Process.Pid)
	return b, nil
}

// start runs the browser and waits for the line announcing its BiDi
// WebSocket address.
func (b *Browser) start(ctx context.Context, path string, headless bool) (string, error) {
	args := []string{"--no-remote", "--profile", b.profile, "--remote-debugging-port", "0"}
	if headless {
		args = append(args, "--headless")
	}
	args = append(args, "about:blank")
	b.cmd = exec.Command(path, args...)
	b.cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_DISABLE_AUTO_SAFE_MODE=1")
	setProcessGroup(b.cmd)
	errPipe, err := b.cmd.StderrPipe()
	if err != nil {
		return "", fmt.Errorf("bidi: %w", err)
	}
	b.cmd.Stdout = b.stderr
	if err := b.cmd.Start(); err != nil {
		close(b.exited)
		return "", fmt.Errorf("bidi: start %s: %w", path, err)
	}
	chURL := make(chan string, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		b.scanStderr(errPipe, chURL)
	}()
	go func() {
		<-readerDone // Wait closes the pipe; read it to the end first
		_ = b.cmd.Wait()
		close(b.exited)
	}()
	select {
	case url := <-chURL:
		return url, nil
	case <-b.exited:
		return "", fmt.Errorf("%w: it exited (%v); stderr:\n%s", ErrNoListenLine, b.cmd.ProcessState, b.stderr)
	case <-ctx.Done():
		return "", fmt.Errorf("%w: %w; stderr:\n%s", ErrNoListenLine, ctx.Err(), b.stderr)
	}
}

func (b *Browser) scanStderr(r io.Reader, chURL chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	found := false
	for sc.Scan() {
		line := sc.Text()
		b.stderr.add(line)
		b.log.Debug("firefox", "stderr", line)
		if m := listenLine.FindStringSubmatch(line); !found && m != nil {
			found = true
			chURL <- strings.TrimSuffix(m[1], "/")
		}
	}
	// A line longer than the buffer ends the scan; keep draining so the
	// browser never blocks on a full pipe.
	_, _ = io.Copy(io.Discard, r)
}

// Call sends any BiDi command (for what this package does not wrap).
func (b *Browser) Call(ctx context.Context, method string, params, out any) error {
	return b.conn.Call(ctx, method, params, out)
}

// Stderr returns the last lines the browser printed (for failure reports).
func (b *Browser) Stderr() string { return b.stderr.String() }

// Close ends the session and the browser, kills what is left of its
// process group and removes the profile. It is safe to call twice.
func (b *Browser) Close(ctx context.Context) error {
	b.shutdown(ctx)
	return nil
}

func (b *Browser) shutdown(ctx context.Context) {
	b.closeOnce.Do(func() {
		if b.conn != nil {
			// browser.close ends the session and quits Firefox cleanly
			// (profile flushed); session.end is the fallback.
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := b.conn.Call(cctx, "browser.close", nil, nil); err != nil && !errors.Is(err, ErrClosed) {
				_ = b.conn.Call(cctx, "session.end", nil, nil)
			}
			cancel()
			_ = b.conn.Close()
		}
		if b.cmd != nil && b.cmd.Process != nil {
			select {
			case <-b.exited:
			case <-time.After(5 * time.Second):
				b.log.Warn("firefox did not quit in 5 s; killing it")
			}
			// Content processes share the group; none may outlive the test.
			killProcessGroup(b.cmd, 5*time.Second)
			select {
			case <-b.exited:
			case <-time.After(10 * time.Second):
				// Something outside the group still holds its stderr.
				b.log.Warn("firefox output still open 10 s after the kill", "pid", b.cmd.Process.Pid)
			}
		}
		if err := os.RemoveAll(b.profile); err != nil {
			b.log.Warn("remove firefox profile", "dir", b.profile, "err", err)
		}
	})
}

// LogEntry is one log.entryAdded event: a console message or an uncaught
// JavaScript error.
type LogEntry struct {
	Type    string // "console" or "javascript"
	Level   string // "debug", "info", "warn", "error"
	Text    string
	Context string // browsing context id
	Source  string // "url:line" of the top stack frame, if any
}

func (e LogEntry) String() string {
	s := e.Type + " " + e.Level + ": " + e.Text
	if e.Source != "" {
		s += " (" + e.Source + ")"
	}
	return s
}

func (b *Browser) onEvent(ev Event) {
	if ev.Method != "log.entryAdded" {
		return
	}
	var p struct {
		Type   string `json:"type"`
		Level  string `json:"level"`
		Text   string `json:"text"`
		Source struct {
			Context string `json:"context"`
		} `json:"source"`
		StackTrace struct {
			CallFrames []struct {
				URL        string `json:"url"`
				LineNumber int    `json:"lineNumber"`
			} `json:"callFrames"`
		} `json:"stackTrace"`
	}
	if err := json.Unmarshal(ev.Params, &p); err != nil {
		b.log.Warn("bidi: bad log.entryAdded", "err", err)
		return
	}
	e := LogEntry{Type: p.Type, Level: p.Level, Text: p.Text, Context: p.Source.Context}
	if f := p.StackTrace.CallFrames; len(f) > 0 {
		e.Source = fmt.Sprintf("%s:%d", f[0].URL, f[0].LineNumber+1)
	}
	b.mu.Lock()
	b.logs = append(b.logs, e)
	subs := slices.Clone(b.subs)
	b.mu.Unlock()
	for _, fn := range subs {
		fn(e)
	}
}

// Logs returns the log entries of a browsing context so far (all when
// context is "").
func (b *Browser) Logs(context string) []LogEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []LogEntry
	for _, e := range b.logs {
		if context == "" || e.Context == context {
			out = append(out, e)
		}
	}
	return out
}

// OnLog calls fn (on the reader goroutine; it must not block) for every
// later log entry.
func (b *Browser) OnLog(fn func(LogEntry)) {
	b.mu.Lock()
	b.subs = append(b.subs, fn)
	b.mu.Unlock()
}

// tail keeps the last n lines written to it.
type tail struct {
	mu    sync.Mutex
	n     int
	lines []string
}

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

// Write takes stdout in chunks (not line by line; good enough for a tail).
func (t *tail) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		t.add(l)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// Version is the browser's name and version from session.new.
func (b *Browser) Version() string { return b.version }

// Profile is the profile directory (removed by Close).
func (b *Browser) Profile() string { return b.profile }

// Pid is the browser's process id (also its process group id on Unix).
func (b *Browser) Pid() int { return b.cmd.Process.Pid }
