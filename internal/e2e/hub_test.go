package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"pingan/configs"
	"pingan/internal/hub"
	"pingan/internal/testutil"
)

const adminPassword = "admin-secret-1"

// testHub is a hub running in-process on loopback ports.
type testHub struct {
	t     *testing.T
	cfg   configs.Config
	base  string
	admin string // admin token
}

// startHub runs a hub with free loopback ports, a fresh data dir and the
// demo streams; edit may change the config first.
func startHub(t *testing.T, demo bool, edit func(*configs.Config)) *testHub {
	t.Helper()
	cfg := configs.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfg.SIP.Addr = fmt.Sprintf("127.0.0.1:%d", testutil.FreeUDPTCPPort(t))
	cfg.RTSP.Addr = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfg.WebRTC.UDPPort = testutil.FreeUDPTCPPort(t)
	cfg.WebRTC.TCPPort = -1
	cfg.Auth.AdminPassword = adminPassword
	cfg.Log.Level = "warn"
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := hub.New(ctx, cfg, hub.Options{Demo: demo})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("hub run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("hub did not stop within 20 s")
		}
	})
	select {
	case <-h.Ready():
	case err := <-done:
		t.Fatalf("hub stopped: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("hub not ready")
	}
	th := &testHub{t: t, cfg: cfg, base: "http://" + h.Addr()}
	th.admin = th.login("admin", adminPassword)
	return th
}

func (h *testHub) login(user, pass string) string {
	h.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	if code := h.call("POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": pass}, &out); code != 200 {
		h.t.Fatalf("login %s: status %d", user, code)
	}
	return out.Token
}

// call sends a JSON request and decodes a JSON answer into out (if not nil).
func (h *testHub) call(method, path, token string, body, out any) int {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

func waitTCP(t *testing.T, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening after %s: %v", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func needTool(t *testing.T, name string) string { return testutil.NeedTool(t, name) }
