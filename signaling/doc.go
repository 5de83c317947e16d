// Package signaling is the hub's HTTP face: the JSON API under /api/v1, WHIP
// and WHEP, and the WebSocket /ws that carries events and room signaling.
// Each area (users, streams, devices, cases, rooms, …) is its own type with a
// Routes(*Router) method; internal/hub builds them and registers them on one
// Router. Areas reach other packages through small consumer-side interfaces.
// It imports media, media/webrtc, media/room, dispatch and auth — never
// gateway directly.
package signaling
