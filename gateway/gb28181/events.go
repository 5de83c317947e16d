package gb28181

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// EventType names what happened to a device.
type EventType string

// Event types.
const (
	EventRegistered     EventType = "device.registered"
	EventOnline         EventType = "device.online"
	EventOffline        EventType = "device.offline"
	EventCatalogChanged EventType = "catalog.changed"
)

// DeviceEvent is one change pushed to Events subscribers.
type DeviceEvent struct {
	Type     EventType `json:"type"`
	DeviceID DeviceID  `json:"device_id"`
	Region   string    `json:"region"`
	Time     time.Time `json:"time"`
	// Channels lists the channels a catalog.changed touched (may be empty
	// for a full sync).
	Channels []DeviceID `json:"channels,omitempty"`
	// Reason says why a device went offline: unregister, keepalive, expired.
	Reason string `json:"reason,omitempty"`
}

// eventQueue is each subscriber's buffer; a full queue drops the event.
const eventQueue = 256

// eventHub fans events out to subscribers without ever blocking the
// publisher: a full subscriber loses the event and the drop is counted
// (STYLE §5.2).
type eventHub struct {
	log     *slog.Logger
	mu      sync.Mutex
	subs    map[chan DeviceEvent]struct{}
	closed  bool
	dropped atomic.Uint64
	lastLog atomic.Int64
}

func newEventHub(log *slog.Logger) *eventHub {
	return &eventHub{log: log, subs: make(map[chan DeviceEvent]struct{})}
}

// subscribe returns a channel fed until ctx ends or the hub closes.
func (h *eventHub) subscribe(ctx context.Context) <-chan DeviceEvent {
	ch := make(chan DeviceEvent, eventQueue)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(ch)
		return ch
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() { h.unsubscribe(ch) })
	return ch
}

func (h *eventHub) unsubscribe(ch chan DeviceEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

// publish delivers ev to every subscriber that has room.
func (h *eventHub) publish(ev DeviceEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
			n := h.dropped.Add(1)
			now := time.Now().Unix()
			if last := h.lastLog.Load(); now > last && h.lastLog.CompareAndSwap(last, now) {
				h.log.Warn("device event subscriber is slow; events dropped", "dropped_total", n)
			}
		}
	}
}

// close ends every subscription.
func (h *eventHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
