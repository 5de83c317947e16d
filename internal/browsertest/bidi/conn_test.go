package bidi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// peer is a remote end on loopback: handle gets each command and the
// socket (it may answer, answer later, or not at all).
type peer struct {
	url string
}

func startPeer(t *testing.T, handle func(ws *websocket.Conn, mu *sync.Mutex, c command)) *peer {
	t.Helper()
	up := websocket.Upgrader{}
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer ws.Close()
		var mu sync.Mutex // guards writes (handlers may answer from goroutines)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var c command
			if err := json.Unmarshal(b, &c); err != nil {
				t.Errorf("peer: bad command %s", b)
				return
			}
			handle(ws, &mu, c)
		}
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	return &peer{url: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

// checkLeaks fails the test if goroutines it started outlive it (checked
// after every other cleanup, the loopback peer's included).
func checkLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func send(ws *websocket.Conn, mu *sync.Mutex, v string) {
	mu.Lock()
	defer mu.Unlock()
	_ = ws.WriteMessage(websocket.TextMessage, []byte(v))
}

func jsonID(id uint64) string { b, _ := json.Marshal(id); return string(b) }

// TestConnMatchesResultsByID: answers that come out of order reach the
// right callers, events go to onEvent, error answers become CommandError,
// and junk between them is skipped.
func TestConnMatchesResultsByID(t *testing.T) {
	checkLeaks(t)
	slowID := make(chan uint64, 1)
	var slow struct {
		sync.Mutex
		ws *websocket.Conn
		mu *sync.Mutex
	}
	p := startPeer(t, func(ws *websocket.Conn, mu *sync.Mutex, c command) {
		switch c.Method {
		case "slow":
			slow.Lock()
			slow.ws, slow.mu = ws, mu
			slow.Unlock()
			slowID <- c.ID
		case "fast":
			send(ws, mu, `not json at all`)
			send(ws, mu, `{"type":"event","method":"log.entryAdded","params":{"text":"hi"}}`)
			send(ws, mu, `{"type":"success","id":`+jsonID(c.ID)+`,"result":{"v":"fast"}}`)
		case "fail":
			send(ws, mu, `{"type":"error","id":`+jsonID(c.ID)+`,"error":"no such frame","message":"gone"}`)
		}
	})
	events := make(chan Event, 4)
	c, err := Dial(context.Background(), p.url, nil, func(e Event) { events <- e })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	slowDone := make(chan string, 1)
	go func() {
		var res struct{ V string }
		if err := c.Call(ctx, "slow", nil, &res); err != nil {
			slowDone <- "error: " + err.Error()
			return
		}
		slowDone <- res.V
	}()
	id := <-slowID
	var res struct{ V string }
	if err := c.Call(ctx, "fast", map[string]int{"n": 1}, &res); err != nil || res.V != "fast" {
		t.Fatalf("fast: %+v %v", res, err)
	}
	slow.Lock()
	send(slow.ws, slow.mu, `{"type":"success","id":`+jsonID(id)+`,"result":{"v":"slow"}}`)
	slow.Unlock()
	if got := <-slowDone; got != "slow" {
		t.Fatalf("slow got %q", got)
	}
	select {
	case e := <-events:
		if e.Method != "log.entryAdded" || !strings.Contains(string(e.Params), "hi") {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	var ce *CommandError
	if err := c.Call(ctx, "fail", nil, nil); !errors.As(err, &ce) || ce.Code != "no such frame" || ce.Message != "gone" {
		t.Fatalf("fail: %v", err)
	}
}

// TestConnTimeoutAndClose: a command nobody answers ends with its
// context; a late answer to it harms nothing; when the remote end goes
// away every waiting call fails with ErrClosed at once.
func TestConnTimeoutAndClose(t *testing.T) {
	checkLeaks(t)
	late := make(chan func(), 1)
	p := startPeer(t, func(ws *websocket.Conn, mu *sync.Mutex, c command) {
		switch c.Method {
		case "never":
			late <- func() { send(ws, mu, `{"type":"success","id":`+jsonID(c.ID)+`,"result":{}}`) }
		case "echo":
			send(ws, mu, `{"type":"success","id":`+jsonID(c.ID)+`,"result":{"ok":true}}`)
		case "hang":
			// the test closes the socket from this side
			go func() { time.Sleep(100 * time.Millisecond); ws.Close() }()
		}
	})
	c, err := Dial(context.Background(), p.url, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err = c.Call(ctx, "never", nil, nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("never: %v", err)
	}
	(<-late)() // its answer arrives after the caller gave up
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ok struct{ OK bool }
	if err := c.Call(ctx, "echo", nil, &ok); err != nil || !ok.OK {
		t.Fatalf("echo after a late answer: %+v %v", ok, err)
	}

	start := time.Now()
	if err := c.Call(ctx, "hang", nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("hang: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed socket noticed after %s", d)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed")
	}
	if err := c.Call(ctx, "echo", nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call on a closed conn: %v", err)
	}
}
