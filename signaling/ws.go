package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"pingan/internal/auth"
)

// WebSocket protocol version; every message carries "v".
const wsVersion = 1

const (
	wsPongWait   = 60 * time.Second
	wsPingEvery  = 25 * time.Second
	wsWriteWait  = 10 * time.Second
	wsReadLimit  = 64 << 10
	wsSendQueue  = 512
	wsReplayPage = 500
)

// LogEvent is one durable event with its offset in the global event log.
type LogEvent struct {
	Offset uint64
	// Topics the event belongs to ("cases", "case:{code}", "incidents", …).
	Topics []string
	Body   any
}

// EventLog is the durable, offset-addressed event source (dispatch).
type EventLog interface {
	// EventsFor returns events after offset visible to p, oldest first, and
	// whether `after` was still held (false: the client must reload).
	EventsFor(ctx context.Context, p auth.Principal, after uint64, limit int) ([]LogEvent, bool, error)
	// Watch delivers the newest offset whenever events are appended.
	Watch(ctx context.Context) <-chan uint64
}

// latestOffsetter is an EventLog that can tell its newest offset.
type latestOffsetter interface {
	LatestOffset(ctx context.Context) (uint64, error)
}

// WSHandler is a handler for client messages of one type prefix (e.g.
// "room." for meeting signaling), added by later areas.
type WSHandler func(ctx context.Context, c *WSConn, msg WSMessage)

// WSMessage is a client→server message.
type WSMessage struct {
	V      int             `json:"v"`
	Type   string          `json:"type"`
	ID     string          `json:"id,omitempty"`
	Topics []string        `json:"topics,omitempty"`
	After  *uint64         `json:"after,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// WSHub serves /ws: topic subscriptions over the durable event log with
// replay from an offset, ephemeral broadcasts (device and stream status),
// and pluggable message handlers (room signaling).
type WSHub struct {
	log      EventLog
	logger   *slog.Logger
	origins  map[string]bool
	upgrader websocket.Upgrader

	mu       sync.RWMutex
	conns    map[*WSConn]struct{}
	handlers map[string]WSHandler
	latest   atomic.Uint64
}

// NewWSHub builds the /ws hub; allowedOrigins are extra browser origins
// (besides the hub's own) that may connect.
func NewWSHub(log EventLog, allowedOrigins []string, logger *slog.Logger) *WSHub {
	h := &WSHub{log: log, logger: logger, origins: map[string]bool{},
		conns: map[*WSConn]struct{}{}, handlers: map[string]WSHandler{}}
	for _, o := range allowedOrigins {
		h.origins[strings.TrimRight(o, "/")] = true
	}
	h.upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: h.checkOrigin}
	return h
}

// Routes registers GET /ws (token in the Authorization header, the cookie or ?access_token=).
func (h *WSHub) Routes(rt *Router) {
	rt.AllowGuest("GET /ws", h.serve)
}

// Handle routes client messages whose type starts with prefix to fn.
func (h *WSHub) Handle(prefix string, fn WSHandler) {
	h.mu.Lock()
	h.handlers[prefix] = fn
	h.mu.Unlock()
}

// Run follows the event log and wakes every connection when events arrive.
func (h *WSHub) Run(ctx context.Context) error {
	if h.log == nil {
		<-ctx.Done()
		return nil
	}
	ch := h.log.Watch(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case off, ok := <-ch:
			if !ok {
				return nil
			}
			h.latest.Store(max(h.latest.Load(), off))
			for _, c := range h.snapshot() {
				c.wake()
			}
		}
	}
}

// Broadcast sends an ephemeral (not durable) message on topic to every
// connection subscribed to it whose principal may see region.
func (h *WSHub) Broadcast(topic, region string, body any) {
	h.BroadcastFunc(topic, func(p auth.Principal) bool { return p.InScope(region) }, body)
}

// BroadcastFunc sends an ephemeral message on topic to every connection
// subscribed to it whose principal may is true for.
func (h *WSHub) BroadcastFunc(topic string, may func(auth.Principal) bool, body any) {
	var msg map[string]any
	for _, c := range h.snapshot() {
		if c.subscribed(topic) && may(c.p) {
			if msg == nil {
				msg = map[string]any{"v": wsVersion, "type": "event", "topic": topic, "event": body}
			}
			c.Send(msg)
		}
	}
}

// Connections returns how many sockets are open.
func (h *WSHub) Connections() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

func (h *WSHub) snapshot() []*WSConn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*WSConn, 0, len(h.conns))
	for c := range h.conns {
		out = append(out, c)
	}
	return out
}

func (h *WSHub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) || h.origins[strings.TrimRight(origin, "/")] {
		return true
	}
	return false
}

func (h *WSHub) serve(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader already answered
	}
	c := newWSConn(h, ws, p)
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	c.run(r.Context())
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

func (h *WSHub) handler(typ string) WSHandler {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for prefix, fn := range h.handlers {
		if strings.HasPrefix(typ, prefix) {
			return fn
		}
	}
	return nil
}

var errSlowConsumer = errors.New("websocket: send queue full")
