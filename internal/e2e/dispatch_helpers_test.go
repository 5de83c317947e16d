package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	goredis "github.com/redis/go-redis/v9"

	"pingan/configs"
	"pingan/dispatch"
	"pingan/internal/hub"
	"pingan/internal/testutil"
)

// dispatchSecret signs hotline work orders in these tests.
const dispatchSecret = "e2e-hotline-secret"

// dispatchBackend is a store choice for the dispatch end-to-end tests:
// setup (run inside the subtest) returns a config edit pointing at fresh
// data, the same data each time the edit is applied.
type dispatchBackend struct {
	name  string
	setup func(t *testing.T) func(c *configs.Config)
}

// dispatchBackends are bolt, and Redis on database db (one of 10–14,
// flushed first); the Redis subtest skips without PINGAN_TEST_REDIS
// (fails in CI).
func dispatchBackends(db int) []dispatchBackend {
	return []dispatchBackend{
		{"bolt", func(t *testing.T) func(c *configs.Config) {
			dir := t.TempDir()
			return func(c *configs.Config) { c.DataDir = dir }
		}},
		{"redis", func(t *testing.T) func(c *configs.Config) {
			u, dir := dispatchRedisDB(t, db), t.TempDir()
			return func(c *configs.Config) { c.DataDir, c.Store.Redis.URL = dir, u }
		}},
	}
}

// forDispatchBackends runs fn as a subtest per backend with the config
// edit of dispatchConfig.
func forDispatchBackends(t *testing.T, db int, fn func(t *testing.T, edit func(c *configs.Config))) {
	for _, b := range dispatchBackends(db) {
		t.Run(b.name, func(t *testing.T) { fn(t, dispatchConfig(b.setup(t))) })
	}
}

// dispatchRedisDB returns the test Redis URL switched to database db,
// after emptying that database.
func dispatchRedisDB(t *testing.T, db int) string {
	t.Helper()
	base := testutil.RedisURL(t)
	opt, err := goredis.ParseURL(base)
	if err != nil {
		t.Fatalf("PINGAN_TEST_REDIS: %v", err)
	}
	opt.DB = db
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("flush redis db %d: %v", db, err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + strconv.Itoa(db)
	return u.String()
}

// dispatchConfig is the hub config of the dispatch tests: hotline intake
// on, orders without a region go to Xiaodian.
func dispatchConfig(store func(c *configs.Config)) func(c *configs.Config) {
	return func(c *configs.Config) {
		store(c)
		c.Dispatch.Hotline.Secret = dispatchSecret
		c.Dispatch.Hotline.Region = "140105"
	}
}

// startHubStoppable runs a hub like startHub (no demo) on the data dir
// and store that edit chooses, and returns a stop function that shuts it
// down and waits, so a test can start another hub on the same data.
func startHubStoppable(t *testing.T, edit func(*configs.Config)) (*testHub, func()) {
	t.Helper()
	cfg := configs.Default()
	cfg.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfg.SIP.Addr = fmt.Sprintf("127.0.0.1:%d", testutil.FreeUDPTCPPort(t))
	cfg.RTSP.Addr = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfg.WebRTC.UDPPort = testutil.FreeUDPTCPPort(t)
	cfg.WebRTC.TCPPort = -1
	cfg.Auth.AdminPassword = adminPassword
	cfg.Log.Level = "warn"
	edit(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	h, err := hub.New(ctx, cfg, hub.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("hub run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("hub did not stop within 20 s")
		}
	}
	t.Cleanup(stop)
	select {
	case <-h.Ready():
	case err := <-done:
		t.Fatalf("hub stopped: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("hub not ready")
	}
	th := &testHub{t: t, cfg: cfg, base: "http://" + h.Addr()}
	th.admin = th.login("admin", adminPassword)
	return th, stop
}

// mustCall is call that must answer want.
func (h *testHub) mustCall(want int, method, path, token string, body, out any) {
	h.t.Helper()
	if code := h.call(method, path, token, body, out); code != want {
		h.t.Fatalf("%s %s: status %d, want %d", method, path, code, want)
	}
}

// user creates a user (as admin) and logs in.
func (h *testHub) user(name, role, region string) string {
	h.t.Helper()
	h.mustCall(http.StatusCreated, "POST", "/api/v1/users", h.admin,
		map[string]string{"username": name, "password": "password-" + name, "role": role, "region": region}, nil)
	return h.login(name, "password-"+name)
}

// e2eCase is a case as the API returns it.
type e2eCase struct {
	Code           string   `json:"code"`
	State          string   `json:"state"`
	Version        uint64   `json:"version"`
	AllowedActions []string `json:"allowed_actions"`
}

// act posts a transition that must succeed and returns the new case.
func (h *testHub) act(token string, c e2eCase, body map[string]any) e2eCase {
	h.t.Helper()
	body["version"] = c.Version
	var n e2eCase
	h.mustCall(http.StatusOK, "POST", "/api/v1/cases/"+c.Code+"/transitions", token, body, &n)
	return n
}

// hotline posts a raw work order with the given signing secret and time.
func (h *testHub) hotline(body []byte, secret string, at time.Time) (int, []byte) {
	h.t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	req, err := http.NewRequest("POST", h.base+"/api/v1/intake/hotline", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Pingan-Timestamp", ts)
	req.Header.Set("X-Pingan-Signature", hex.EncodeToString(dispatch.SignHotline([]byte(secret), ts, body)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

// e2eEvent is one durable event received on the WebSocket.
type e2eEvent struct {
	Offset uint64 `json:"offset"`
	Type   string `json:"type"`
	Case   string `json:"case"`
	Action string `json:"action"`
}

// eventSocket is a console's /ws connection (gorilla client).
type eventSocket struct {
	t    testing.TB
	conn *websocket.Conn
	last uint64 // last offset received
}

func (h *testHub) dialEvents(token string) *eventSocket {
	h.t.Helper()
	u := "ws" + strings.TrimPrefix(h.base, "http") + "/ws?access_token=" + url.QueryEscape(token)
	conn, res, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		h.t.Fatalf("dial /ws: %v", err)
	}
	res.Body.Close()
	h.t.Cleanup(func() { _ = conn.Close() })
	return &eventSocket{t: h.t, conn: conn}
}

// subscribe subscribes to topics after offset and waits for the answer.
func (s *eventSocket) subscribe(after uint64, topics ...string) {
	s.t.Helper()
	s.last = after
	msg := map[string]any{"v": 1, "type": "subscribe", "id": "sub", "topics": topics, "after": after}
	if err := s.conn.WriteJSON(msg); err != nil {
		s.t.Fatal(err)
	}
	for {
		if m := s.read(); m.Type == "subscribed" {
			return
		}
	}
}

type socketMsg struct {
	Type   string          `json:"type"`
	Offset uint64          `json:"offset"`
	Event  json.RawMessage `json:"event"`
}

func (s *eventSocket) read() socketMsg {
	s.t.Helper()
	_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m socketMsg
	if err := s.conn.ReadJSON(&m); err != nil {
		s.t.Fatalf("websocket read: %v", err)
	}
	return m
}

// events reads the next n durable events; offsets must increase.
func (s *eventSocket) events(n int) []e2eEvent {
	s.t.Helper()
	var out []e2eEvent
	for len(out) < n {
		m := s.read()
		if m.Type != "event" {
			continue
		}
		var ev e2eEvent
		if err := json.Unmarshal(m.Event, &ev); err != nil {
			s.t.Fatal(err)
		}
		if ev.Offset <= s.last {
			s.t.Fatalf("event offset %d after %d: duplicate or out of order", ev.Offset, s.last)
		}
		s.last = ev.Offset
		out = append(out, ev)
	}
	return out
}

// quiet fails if a message arrives within d; the socket is unusable after.
func (s *eventSocket) quiet(d time.Duration) {
	s.t.Helper()
	_ = s.conn.SetReadDeadline(time.Now().Add(d))
	var m socketMsg
	if err := s.conn.ReadJSON(&m); err == nil {
		s.t.Fatalf("unexpected message %+v", m)
	}
}

func actions(evs []e2eEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Action
	}
	return out
}
