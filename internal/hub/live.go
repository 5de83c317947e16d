package hub

import (
	"context"
	"strings"
	"time"

	"pingan/gateway/gb28181"
	"pingan/internal/auth"
	"pingan/media"
)

// deviceViewers may see devices (as in signaling.DevicesAPI).
var deviceViewers = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader, auth.RoleMediator, auth.RoleIntegration}

// streamEvent is the body of a "streams" WebSocket event.
type streamEvent struct {
	Stream string    `json:"stream"`
	Online bool      `json:"online"`
	Time   time.Time `json:"time"`
}

// runLiveTopics pushes device and stream status changes to the consoles
// subscribed to the ephemeral "devices" and "streams" topics, each to the
// users allowed to see the device or stream. Room streams are left to the
// room's own events (only members may know of them).
func (h *Hub) runLiveTopics(ctx context.Context) error {
	devs := h.gb.Events(ctx)
	streams := h.media.Events(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-devs:
			if !ok {
				devs = nil
				continue
			}
			region := ev.Region
			h.ws.BroadcastFunc("devices", func(p auth.Principal) bool {
				return p.Room == "" && p.Is(deviceViewers...) && p.InScope(region)
			}, ev)
		case ev, ok := <-streams:
			if !ok {
				streams = nil
				continue
			}
			h.broadcastStream(ctx, ev)
		}
		if devs == nil && streams == nil {
			<-ctx.Done()
			return nil
		}
	}
}

func (h *Hub) broadcastStream(ctx context.Context, ev media.Event) {
	id := string(h.access.resolve(ev.Stream))
	if strings.HasPrefix(id, "room/") {
		return
	}
	may := func(p auth.Principal) bool { return p.Room == "" && p.Is(videoRoles...) }
	if ch, ok := strings.CutPrefix(id, "gb/"); ok {
		// One registry lookup per event, not one per connection.
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, _, err := h.gb.Channel(lctx, gb28181.DeviceID(ch))
		cancel()
		if err != nil {
			may = func(p auth.Principal) bool { return p.Room == "" && p.Is(videoRoles...) && p.Region == "" }
		} else {
			region := c.Region
			may = func(p auth.Principal) bool { return p.Room == "" && p.Is(videoRoles...) && p.InScope(region) }
		}
	}
	h.ws.BroadcastFunc("streams", may, streamEvent{Stream: string(ev.Stream), Online: ev.Online, Time: ev.Time})
}
