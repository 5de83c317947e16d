package hub

import (
	"context"
	"fmt"
	"time"

	"pingan/media/room"
	"pingan/signaling"
)

// roomsParts are the rooms areas built by buildRooms.
type roomsParts struct {
	manager *room.Manager
	api     *signaling.RoomsAPI
	whip    *signaling.WHIPAPI
}

// buildRooms builds the room SFU (media/room) and registers its HTTP
// routes (/api/v1/rooms…, /whip/…) on rt and its "room." messages on the
// WebSocket hub. It adds the runners "rooms" (speaker/layer timers; ends
// every room on stop) and "whip" (ends WHIP sessions on stop). WHEP must
// read room streams through api.StreamAccess(h.access), so members (and
// not every user) may watch them.
func (h *Hub) buildRooms(rt *signaling.Router) (*roomsParts, error) {
	m, err := room.NewManager(room.Config{
		Streams: h.media,
		Engine:  h.rtc,
		Store:   signaling.NewRoomStore(h.store),
		Logger:  h.log.With("part", "rooms"),
	})
	if err != nil {
		return nil, fmt.Errorf("rooms: %w", err)
	}
	// Rooms left open by the previous run come back (empty) before the
	// HTTP server serves their join links.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	n, err := m.Restore(ctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("rooms: %w", err)
	}
	if n > 0 {
		h.log.Info("rooms restored", "open", n)
	}
	h.addRunner("rooms", m.Run)
	api := &signaling.RoomsAPI{
		Rooms: m, Tokens: h.auth, Access: h.access, Location: h.loc,
		Logger: h.log.With("part", "rooms"),
	}
	api.Routes(rt)
	(&signaling.RoomWS{Rooms: m, Access: h.access, Logger: h.log.With("part", "rooms")}).Register(h.ws)
	if h.recordings != nil { // POST /api/v1/recordings {"room"}
		h.recordings.Rooms = signaling.RoomsForRecording(m)
	}
	whip := &signaling.WHIPAPI{Streams: h.media, Engine: h.rtc, Rooms: m, Logger: h.log.With("part", "whip")}
	whip.Routes(rt)
	h.addRunner("whip", whip.Run)
	return &roomsParts{manager: m, api: api, whip: whip}, nil
}
