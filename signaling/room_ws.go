package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/media"
	"pingan/media/room"
)

// RoomWS handles the "room." WebSocket messages (docs/signaling.md,
// "Rooms"): one connection is in at most one room at a time. When the
// socket drops, the participant keeps its place for the grace period and
// a new socket may resume it.
type RoomWS struct {
	Rooms roomFinder
	// Access decides which streams a host may add as cameras.
	Access StreamAccess
	Logger *slog.Logger

	mu      sync.Mutex
	members map[*WSConn]*room.Participant
}

// Register routes "room." messages of hub to the rooms.
func (a *RoomWS) Register(hub *WSHub) { hub.Handle("room.", a.handle) }

func (a *RoomWS) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// Room message payloads.
type (
	roomJoinMsg struct {
		Room   room.ID            `json:"room"`
		Name   string             `json:"name,omitempty"`
		Resume room.ParticipantID `json:"resume,omitempty"`
		Manual bool               `json:"manual,omitempty"`
	}
	roomSDPMsg struct {
		SDP    string   `json:"sdp"`
		Source string   `json:"source,omitempty"`
		Layers []string `json:"layers,omitempty"`
	}
	roomStreamMsg struct {
		Stream   media.StreamID `json:"stream"`
		MaxLayer *int           `json:"max_layer,omitempty"`
		Height   int            `json:"height,omitempty"`
	}
	roomICEMsg struct {
		Source    string                   `json:"source,omitempty"` // "" = the subscriber PC
		Candidate pwebrtc.ICECandidateInit `json:"candidate"`
	}
	roomFlagMsg struct {
		Kind   string `json:"kind,omitempty"` // "audio" | "video"
		Muted  *bool  `json:"muted,omitempty"`
		Raised *bool  `json:"raised,omitempty"`
	}
	roomChatMsg struct {
		Text string             `json:"text"`
		To   room.ParticipantID `json:"to,omitempty"`
	}
	roomHostMsg struct {
		Participant room.ParticipantID `json:"participant,omitempty"`
		Kind        string             `json:"kind,omitempty"`
		Granted     *bool              `json:"granted,omitempty"`
		Stream      media.StreamID     `json:"stream,omitempty"`
		Name        string             `json:"name,omitempty"`
	}
)

func (a *RoomWS) handle(ctx context.Context, c *WSConn, msg WSMessage) {
	if msg.Type == "room.join" {
		a.join(ctx, c, msg)
		return
	}
	p := a.member(c)
	if p == nil || p.Left() {
		c.ReplyError(msg, "not_joined", "send room.join first")
		return
	}
	var err error
	switch msg.Type {
	case "room.leave":
		a.forget(c)
		p.Leave()
	case "room.publish":
		a.publish(ctx, c, p, msg)
		return
	case "room.unpublish":
		var m roomSDPMsg
		if err = decodeData(msg, &m); err == nil {
			err = p.Unpublish(orDefault(m.Source, "camera"))
		}
	case "room.answer":
		var m roomSDPMsg
		if err = decodeData(msg, &m); err == nil {
			err = p.Answer(m.SDP)
		}
	case "room.ice":
		var m roomICEMsg
		if err = decodeData(msg, &m); err == nil {
			err = p.AddICECandidate(m.Source, m.Candidate)
		}
	case "room.subscribe", "room.unsubscribe":
		err = a.subscribe(p, msg)
	case "room.mute", "room.unmute", "room.hand":
		err = a.flag(p, msg)
	case "room.chat":
		var m roomChatMsg
		if err = decodeData(msg, &m); err == nil {
			err = p.Chat(m.Text, m.To)
		}
	case "room.host.mute", "room.host.remove", "room.host.floor", "room.host.end", "room.host.camera":
		err = a.host(c, p, msg)
	default:
		c.ReplyError(msg, "unknown_type", "unknown message type "+msg.Type)
		return
	}
	if err != nil {
		replyRoomError(c, msg, err)
		return
	}
	c.Reply(msg, "room.ok", map[string]string{"for": msg.Type})
}

func (a *RoomWS) join(ctx context.Context, c *WSConn, msg WSMessage) {
	var m roomJoinMsg
	if err := decodeData(msg, &m); err != nil {
		replyRoomError(c, msg, err)
		return
	}
	pr := c.Principal()
	rm, ok := a.Rooms.Get(m.Room)
	if !ok || (pr.Room != "" && pr.Room != string(m.Room)) {
		c.ReplyError(msg, "not_found", "no such room")
		return
	}
	if old := a.forget(c); old != nil {
		old.Leave()
	}
	name := m.Name
	if name == "" || pr.Room != "" {
		name = displayName(pr.Username)
	}
	p, err := rm.Join(room.JoinOptions{
		Name: name, User: roomUser(pr), Role: roomRole(pr, rm), Resume: m.Resume, Manual: m.Manual,
		OnEvent: func(ev room.Event) {
			c.Send(map[string]any{"v": wsVersion, "type": "room." + ev.Type, "data": ev})
		},
	})
	if err != nil {
		replyRoomError(c, msg, err)
		return
	}
	a.mu.Lock()
	if a.members == nil {
		a.members = map[*WSConn]*room.Participant{}
	}
	_, watching := a.members[c]
	a.members[c] = p
	a.mu.Unlock()
	if !watching {
		// The connection's context ends when the socket closes.
		context.AfterFunc(ctx, func() {
			if p := a.forget(c); p != nil {
				p.Disconnect()
			}
		})
	}
	c.Reply(msg, "room.joined", map[string]any{"participant": p.ID(), "role": p.Role(), "room": rm.Info()})
}

func displayName(username string) string {
	if n, ok := cutPrefix(username, "guest:"); ok {
		return n
	}
	return username
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

func (a *RoomWS) member(c *WSConn) *room.Participant {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.members[c]
}

func (a *RoomWS) forget(c *WSConn) *room.Participant {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.members[c]
	delete(a.members, c)
	return p
}

func (a *RoomWS) publish(ctx context.Context, c *WSConn, p *room.Participant, msg WSMessage) {
	var m roomSDPMsg
	if err := decodeData(msg, &m); err != nil {
		replyRoomError(c, msg, err)
		return
	}
	res, err := p.Publish(ctx, m.SDP, room.PublishOptions{Source: m.Source, Layers: m.Layers})
	if err != nil {
		replyRoomError(c, msg, err)
		return
	}
	c.Reply(msg, "room.published", map[string]any{"sdp": res.Answer, "stream": res.Stream, "source": orDefault(m.Source, "camera")})
}

// heightLayer maps a requested video height to a simulcast layer cap
// (q/h/f at ¼, ½ and full 720p size).
func heightLayer(h int) int {
	switch {
	case h <= 0:
		return -1
	case h <= 180:
		return 0
	case h <= 360:
		return 1
	}
	return -1
}

func (a *RoomWS) subscribe(p *room.Participant, msg WSMessage) error {
	var m roomStreamMsg
	if err := decodeData(msg, &m); err != nil {
		return err
	}
	if msg.Type == "room.unsubscribe" {
		p.Unsubscribe(m.Stream)
		return nil
	}
	layer := heightLayer(m.Height)
	if m.MaxLayer != nil {
		layer = *m.MaxLayer
	}
	return p.Subscribe(m.Stream, layer)
}

func (a *RoomWS) flag(p *room.Participant, msg WSMessage) error {
	var m roomFlagMsg
	if err := decodeData(msg, &m); err != nil {
		return err
	}
	switch msg.Type {
	case "room.hand":
		p.RaiseHand(m.Raised == nil || *m.Raised)
		return nil
	case "room.mute", "room.unmute":
		if m.Kind != "audio" && m.Kind != "video" {
			return Errorf(http.StatusBadRequest, "invalid", `kind must be "audio" or "video"`)
		}
		muted := msg.Type == "room.mute"
		if m.Muted != nil {
			muted = *m.Muted
		}
		p.SetMuted(m.Kind == "video", muted)
	}
	return nil
}

func (a *RoomWS) host(c *WSConn, p *room.Participant, msg WSMessage) error {
	var m roomHostMsg
	if err := decodeData(msg, &m); err != nil {
		return err
	}
	rm := p.Room()
	switch msg.Type {
	case "room.host.mute":
		return rm.Mute(p.ID(), m.Participant, m.Kind == "video")
	case "room.host.remove":
		return rm.Remove(p.ID(), m.Participant)
	case "room.host.floor":
		return rm.SetFloor(p.ID(), m.Participant, m.Granted == nil || *m.Granted)
	case "room.host.end":
		return rm.EndBy(p.ID())
	case "room.host.camera":
		if p.Role() != room.RoleHost {
			return room.ErrForbidden
		}
		_, err := addCamera(a.Access, c.Principal(), rm, m.Stream, m.Name)
		return err
	}
	return nil
}

func decodeData(msg WSMessage, v any) error {
	if len(msg.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(msg.Data, v); err != nil {
		return Errorf(http.StatusBadRequest, "malformed", "bad data: %v", err)
	}
	return nil
}

func replyRoomError(c *WSConn, msg WSMessage, err error) {
	var ae *Error
	if !errors.As(RoomError(err), &ae) {
		c.ReplyError(msg, "failed", err.Error())
		return
	}
	c.ReplyError(msg, ae.Code, ae.Message)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
