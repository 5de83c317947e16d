package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"pingan/gateway/gb28181/sim"
)

// liveEvent is a "devices" or "streams" WebSocket event body.
type liveEvent struct {
	Type     string `json:"type"`      // devices
	DeviceID string `json:"device_id"` // devices
	Region   string `json:"region"`    // devices
	Stream   string `json:"stream"`    // streams
	Online   bool   `json:"online"`    // streams
}

// nextLive reads until an ephemeral event on topic matching ok arrives.
func (s *eventSocket) nextLive(t *testing.T, topic string, within time.Duration, ok func(liveEvent) bool) liveEvent {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		_ = s.conn.SetReadDeadline(deadline)
		var m struct {
			Type  string          `json:"type"`
			Topic string          `json:"topic"`
			Event json.RawMessage `json:"event"`
		}
		if err := s.conn.ReadJSON(&m); err != nil {
			t.Fatalf("waiting for a %s event: %v", topic, err)
		}
		if m.Type != "event" || m.Topic != topic {
			continue
		}
		var ev liveEvent
		if err := json.Unmarshal(m.Event, &ev); err != nil {
			t.Fatal(err)
		}
		if ok(ev) {
			return ev
		}
	}
	t.Fatalf("no matching %s event within %s", topic, within)
	return liveEvent{}
}

// TestLiveDeviceAndStreamEvents: consoles subscribed to "devices" and
// "streams" hear a camera come online and its stream start and stop,
// without polling; an operator of another region hears nothing of it.
func TestLiveDeviceAndStreamEvents(t *testing.T) {
	h := startHub(t, false, gbHubConfig)
	const dev = "14010500001320000901" // Taiyuan, Xiaodian
	local := h.dialEvents(h.user("op-taiyuan", "operator", "1401"))
	local.subscribe(0, "devices", "streams")
	other := h.dialEvents(h.user("op-datong", "operator", "1402"))
	other.subscribe(0, "devices", "streams")

	h.startSim(sim.Config{DeviceID: dev, Keepalive: 300 * time.Millisecond})
	ev := local.nextLive(t, "devices", 10*time.Second, func(e liveEvent) bool {
		return e.DeviceID == dev && (e.Type == "device.online" || e.Type == "device.registered")
	})
	if ev.Region != "140105" {
		t.Errorf("device event region %q, want 140105", ev.Region)
	}
	ch := h.waitDevice(dev, 1)[0].ID

	v := h.play("gb/" + ch)
	v.waitKeyframe(t)
	local.nextLive(t, "streams", 10*time.Second, func(e liveEvent) bool { return e.Stream == "gb/"+ch && e.Online })
	h.stopViewer(v)
	local.nextLive(t, "streams", 15*time.Second, func(e liveEvent) bool { return e.Stream == "gb/"+ch && !e.Online })

	// The Datong operator's socket got nothing about the Taiyuan camera.
	_ = other.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	for {
		var m struct {
			Type  string          `json:"type"`
			Event json.RawMessage `json:"event"`
		}
		if err := other.conn.ReadJSON(&m); err != nil {
			break // deadline: nothing more queued
		}
		if m.Type == "event" && (strings.Contains(string(m.Event), dev) || strings.Contains(string(m.Event), ch)) {
			t.Fatalf("an operator of another region received %s", m.Event)
		}
	}
}
