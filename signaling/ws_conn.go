package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"pingan/internal/auth"
)

// WSConn is one WebSocket client: one reader goroutine, one writer
// goroutine fed by a bounded queue (a client that cannot keep up is
// disconnected and resumes from its last offset), and a replay loop that
// delivers durable events after the client's offset.
type WSConn struct {
	hub *WSHub
	ws  *websocket.Conn
	p   auth.Principal

	send   chan any
	wakeCh chan struct{}
	cancel context.CancelFunc

	mu     sync.Mutex
	topics map[string]bool
	offset uint64 // last durable offset delivered
	follow bool   // subscribed to at least one durable topic
}

func newWSConn(h *WSHub, ws *websocket.Conn, p auth.Principal) *WSConn {
	return &WSConn{hub: h, ws: ws, p: p, send: make(chan any, wsSendQueue),
		wakeCh: make(chan struct{}, 1), topics: map[string]bool{}}
}

// Principal is the authenticated user of the connection.
func (c *WSConn) Principal() auth.Principal { return c.p }

// Send queues a message; a full queue closes the connection.
func (c *WSConn) Send(msg any) {
	select {
	case c.send <- msg:
	default:
		c.hub.logger.Warn("websocket client too slow, disconnecting", "user", c.p.Username, "err", errSlowConsumer)
		if c.cancel != nil {
			c.cancel()
		}
	}
}

// Reply answers a client message with a typed response.
func (c *WSConn) Reply(req WSMessage, typ string, data any) {
	c.Send(map[string]any{"v": wsVersion, "type": typ, "id": req.ID, "data": data})
}

// ReplyError answers a client message with an error.
func (c *WSConn) ReplyError(req WSMessage, code, message string) {
	c.Send(map[string]any{"v": wsVersion, "type": "error", "id": req.ID,
		"error": map[string]string{"code": code, "message": message}})
}

func (c *WSConn) wake() {
	select {
	case c.wakeCh <- struct{}{}:
	default:
	}
}

func (c *WSConn) subscribed(topic string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.topics[topic]
}

func (c *WSConn) run(parent context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	c.cancel = cancel
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.writeLoop(ctx) }()
	go func() { defer wg.Done(); c.replayLoop(ctx) }()
	c.readLoop(ctx)
	cancel()
	wg.Wait()
	_ = c.ws.Close()
}

func (c *WSConn) readLoop(ctx context.Context) {
	c.ws.SetReadLimit(wsReadLimit)
	_ = c.ws.SetReadDeadline(time.Now().Add(wsPongWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(wsPongWait))
	})
	for ctx.Err() == nil {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(wsPongWait))
		var msg WSMessage
		if err := json.Unmarshal(data, &msg); err != nil {
			c.ReplyError(msg, "malformed", "bad JSON message")
			continue
		}
		c.dispatch(ctx, msg)
	}
}

func (c *WSConn) dispatch(ctx context.Context, msg WSMessage) {
	if msg.V != 0 && msg.V != wsVersion {
		c.ReplyError(msg, "version", "unsupported protocol version")
		return
	}
	switch msg.Type {
	case "ping":
		c.Reply(msg, "pong", nil)
	case "subscribe":
		c.subscribe(ctx, msg)
	case "unsubscribe":
		c.mu.Lock()
		for _, t := range msg.Topics {
			delete(c.topics, t)
		}
		c.mu.Unlock()
		c.Reply(msg, "unsubscribed", map[string]any{"topics": msg.Topics})
	default:
		if fn := c.hub.handler(msg.Type); fn != nil {
			fn(ctx, c, msg)
			return
		}
		c.ReplyError(msg, "unknown_type", "unknown message type "+msg.Type)
	}
}

// durableTopic reports whether topic is served from the event log.
func durableTopic(t string) bool {
	return t == "cases" || t == "incidents" || strings.HasPrefix(t, "case:") || strings.HasPrefix(t, "incident:")
}

func (c *WSConn) subscribe(ctx context.Context, msg WSMessage) {
	if len(msg.Topics) == 0 {
		c.ReplyError(msg, "invalid", "topics must not be empty")
		return
	}
	// "Live only" starts after the newest event already written, read
	// from the log itself: the hub's latest offset arrives by pub/sub and
	// may lag a write that finished before this subscribe.
	live := c.hub.latest.Load()
	if ll, ok := c.hub.log.(latestOffsetter); ok && msg.After == nil {
		if off, err := ll.LatestOffset(ctx); err == nil {
			live = max(live, off)
		}
	}
	c.mu.Lock()
	durable := false
	for _, t := range msg.Topics {
		c.topics[t] = true
		durable = durable || durableTopic(t)
	}
	if durable {
		if msg.After != nil {
			c.offset = *msg.After
		} else if !c.follow {
			c.offset = live // live only
		}
		c.follow = true
	}
	off := c.offset
	c.mu.Unlock()
	c.Reply(msg, "subscribed", map[string]any{"topics": msg.Topics, "after": off})
	c.wake()
}

func (c *WSConn) writeLoop(ctx context.Context) {
	ping := time.NewTicker(wsPingEvery)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
			return
		case msg := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(wsWriteWait))
			if err := c.ws.WriteJSON(msg); err != nil {
				c.cancel()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait)); err != nil {
				c.cancel()
				return
			}
		}
	}
}

// replayLoop delivers durable events after the connection's offset each
// time the log grows (and right after a subscribe).
func (c *WSConn) replayLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wakeCh:
		}
		if err := c.catchUp(ctx); err != nil && !errors.Is(err, context.Canceled) {
			c.hub.logger.Warn("websocket replay", "user", c.p.Username, "err", err)
		}
	}
}

func (c *WSConn) catchUp(ctx context.Context) error {
	if c.hub.log == nil {
		return nil
	}
	for {
		c.mu.Lock()
		follow, after := c.follow, c.offset
		c.mu.Unlock()
		if !follow {
			return nil
		}
		events, held, err := c.hub.log.EventsFor(ctx, c.p, after, wsReplayPage)
		if err != nil {
			return err
		}
		if !held {
			c.Send(map[string]any{"v": wsVersion, "type": "recovered", "recovered": false, "after": after})
		}
		for _, e := range events {
			if topic, ok := c.matchTopic(e.Topics); ok {
				c.Send(map[string]any{"v": wsVersion, "type": "event", "topic": topic, "offset": e.Offset, "event": e.Body})
			}
			after = e.Offset
		}
		c.mu.Lock()
		if after > c.offset {
			c.offset = after
		}
		c.mu.Unlock()
		if len(events) < wsReplayPage {
			return nil
		}
	}
}

func (c *WSConn) matchTopic(topics []string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range topics {
		if c.topics[t] {
			return t, true
		}
	}
	return "", false
}
