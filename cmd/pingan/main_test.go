package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"pingan/internal/testutil"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pingan-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "pingan")
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build pingan:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hubProc is a pingan serve process under test.
type hubProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
	done chan error
}

func startHub(t *testing.T, env []string) *hubProc {
	t.Helper()
	port := testutil.FreePort(t)
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("PINGAN_HTTP_ADDR=127.0.0.1:%d", port),
		fmt.Sprintf("PINGAN_SIP_ADDR=127.0.0.1:%d", testutil.FreeUDPTCPPort(t)),
		fmt.Sprintf("PINGAN_RTSP_ADDR=127.0.0.1:%d", testutil.FreePort(t)),
		fmt.Sprintf("PINGAN_WEBRTC_UDP_PORT=%d", testutil.FreeUDPTCPPort(t)),
		"PINGAN_WEBRTC_TCP_PORT=-1",
		"PINGAN_AUTH_ADMIN_PASSWORD=admin-secret-1",
	)
	cmd.Env = append(cmd.Env, env...)
	h := &hubProc{t: t, cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = h.logs, h.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-h.done
		if t.Failed() {
			t.Logf("hub log:\n%s", h.logs.String())
		}
	})
	testutil.WaitHTTP(t, h.base+"/healthz", 20*time.Second)
	return h
}

func (h *hubProc) kill9() {
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.done
	h.done <- nil // keep Cleanup's receive from blocking
}

func (h *hubProc) call(method, path, token string, body any) (int, map[string]any) {
	h.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, h.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func (h *hubProc) login(user, pass string) (int, string) {
	code, out := h.call("POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": pass})
	tok, _ := out["token"].(string)
	return code, tok
}

func restartScenario(t *testing.T, env []string) {
	h := startHub(t, env)
	code, admin := h.login("admin", "admin-secret-1")
	if code != http.StatusOK || admin == "" {
		t.Fatalf("admin login: %d", code)
	}
	code, _ = h.call("POST", "/api/v1/users", admin, map[string]string{
		"username": "zhang.san", "password": "grid-worker-9", "role": "grid", "region": "140105",
	})
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("create user: %d", code)
	}
	h.kill9()

	h2 := startHub(t, env)
	code, tok := h2.login("zhang.san", "grid-worker-9")
	if code != http.StatusOK || tok == "" {
		t.Fatalf("login after kill -9 and restart: %d", code)
	}
	code, me := h2.call("GET", "/api/v1/me", tok, nil)
	if code != http.StatusOK || me["username"] != "zhang.san" || me["role"] != "grid" {
		t.Fatalf("me after restart: %d %v", code, me)
	}
	// the token issued before the crash still works on the restarted hub
	if code, _ := h2.call("GET", "/api/v1/me", admin, nil); code != http.StatusOK {
		t.Fatalf("admin token after restart: %d", code)
	}
}

func TestRestartKeepsUsersBolt(t *testing.T) {
	restartScenario(t, []string{"PINGAN_DATA_DIR=" + t.TempDir()})
}

func TestRestartKeepsUsersRedis(t *testing.T) {
	u := testutil.RedisURL(t)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	pu.Path = "/9" // a database of its own
	rdb := goredis.NewClient(&goredis.Options{Addr: pu.Host, DB: 9})
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.Close()
	restartScenario(t, []string{"PINGAN_DATA_DIR=" + t.TempDir(), "PINGAN_STORE_REDIS_URL=" + pu.String()})
}

func TestSIGTERMShutsDownCleanly(t *testing.T) {
	h := startHub(t, []string{"PINGAN_DATA_DIR=" + t.TempDir()})
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-h.done:
		h.done <- nil
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("hub did not stop within 20 s of SIGTERM")
	}
	if !strings.Contains(h.logs.String(), "pingan hub stopped") {
		t.Fatalf("no clean stop in the log:\n%s", h.logs.String())
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(cfg, []byte("http:\n  adress: \":1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "serve", "--config", cfg).CombinedOutput()
	if err == nil {
		t.Fatal("serve accepted an unknown key")
	}
	if !strings.Contains(string(out), "http.adress: unknown key") {
		t.Fatalf("error does not name the key: %s", out)
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "pingan ") {
		t.Fatalf("version: %v %q", err, out)
	}
}
