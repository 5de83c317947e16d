package signaling

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// startEventsWS adds /ws over the env's event log and runs the WS hub
// until the test ends.
func (e *dispatchEnv) startEventsWS() *WSHub {
	e.t.Helper()
	ws := NewWSHub(NewDispatchEventLog(e.svc), nil, slog.New(slog.DiscardHandler))
	ws.Routes(e.rt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = ws.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	return ws
}

// wsMsg is a server→client message.
type wsMsg struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Topic     string          `json:"topic"`
	Offset    uint64          `json:"offset"`
	Recovered *bool           `json:"recovered"`
	Event     json.RawMessage `json:"event"`
}

// wsEvent is the event body of a durable topic message.
type wsEvent struct {
	Offset uint64 `json:"offset"`
	Type   string `json:"type"`
	Case   string `json:"case"`
	Action string `json:"action"`
}

// wsTestClient is a gorilla client of /ws.
type wsTestClient struct {
	t    testing.TB
	conn *websocket.Conn
}

func dialWS(t testing.TB, baseURL, token string) *wsTestClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(baseURL, "http") + "/ws?access_token=" + token
	conn, res, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	res.Body.Close()
	c := &wsTestClient{t: t, conn: conn}
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

// subscribe subscribes to topics (after = nil: live only) and waits for the answer.
func (c *wsTestClient) subscribe(after *uint64, topics ...string) {
	c.t.Helper()
	msg := map[string]any{"v": 1, "type": "subscribe", "id": "s", "topics": topics}
	if after != nil {
		msg["after"] = *after
	}
	if err := c.conn.WriteJSON(msg); err != nil {
		c.t.Fatal(err)
	}
	for {
		m := c.next(5 * time.Second)
		if m.Type == "subscribed" {
			return
		}
	}
}

// next reads one message or fails after d.
func (c *wsTestClient) next(d time.Duration) wsMsg {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	var m wsMsg
	if err := c.conn.ReadJSON(&m); err != nil {
		c.t.Fatalf("websocket read: %v", err)
	}
	return m
}

// events reads n durable events.
func (c *wsTestClient) events(n int) []wsEvent {
	c.t.Helper()
	var out []wsEvent
	for len(out) < n {
		m := c.next(5 * time.Second)
		if m.Type != "event" {
			continue
		}
		var ev wsEvent
		if err := json.Unmarshal(m.Event, &ev); err != nil {
			c.t.Fatal(err)
		}
		if ev.Offset != m.Offset {
			c.t.Fatalf("message offset %d, event offset %d", m.Offset, ev.Offset)
		}
		out = append(out, ev)
	}
	return out
}

// quiet fails if an event arrives within d.
func (c *wsTestClient) quiet(d time.Duration) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	var m wsMsg
	if err := c.conn.ReadJSON(&m); err == nil {
		c.t.Fatalf("unexpected message %+v", m)
	}
}
