// Package room is the SFU of meetings and classes (DESIGN decision 5) on
// top of the media hub: each participant's published tracks become hub
// streams "room/{id}/{participant}" (WHIP-style ingest, simulcast layers
// as "…~{rid}" streams), and each participant receives the others through
// one subscriber PeerConnection renegotiated with server offers. A camera
// stream can join as a pseudo-participant. It imports media and
// media/webrtc only; signaling drives it.
package room

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"pingan/media"
	"pingan/media/webrtc"
)

// ID names a room.
type ID string

// ParticipantID names a participant within a room.
type ParticipantID string

// Kind is a room's kind.
type Kind string

// Room kinds.
const (
	// KindMeeting is a mediation meeting: up to MaxMeetingPublishers
	// publishers, everyone receives everyone.
	KindMeeting Kind = "meeting"
	// KindClass is a class: 1–MaxPresenters presenters (hosts and viewers
	// given the floor), up to MaxClassMembers viewers.
	KindClass Kind = "class"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == KindMeeting || k == KindClass }

// Role is what a participant may do in a room.
type Role string

// Participant roles.
const (
	RoleHost        Role = "host"        // publishes, moderates
	RoleParticipant Role = "participant" // publishes in meetings
	RoleViewer      Role = "viewer"      // receives; publishes only with the floor
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleHost || r == RoleParticipant || r == RoleViewer }

// Sentinel errors.
var (
	ErrNotFound  = errors.New("room: no such room or participant")
	ErrEnded     = errors.New("room: the room has ended")
	ErrFull      = errors.New("room: the room is full")
	ErrForbidden = errors.New("room: not allowed")
	ErrRemoved   = errors.New("room: removed from the room by a host")
	ErrInvalid   = errors.New("room: invalid request")
	// ErrUnavailable wraps a store failure: the room could not be saved.
	ErrUnavailable = errors.New("room: the room store is unavailable")
)

// Streams is what rooms need from the media hub (*media.Hub).
type Streams interface {
	Publish(id media.StreamID) (*media.Stream, error)
	Subscribe(ctx context.Context, id media.StreamID, opts media.ReaderOptions) (*media.Reader, error)
	Info(id media.StreamID) (media.StreamInfo, bool)
	Alias(name, target media.StreamID)
}

// Engine is what rooms need from the WebRTC engine (*webrtc.Engine).
type Engine interface {
	NewWHIPSession(ctx context.Context, offer string, opts webrtc.IngestOptions) (*webrtc.Ingest, string, error)
	NewSubscriber(ctx context.Context, opts webrtc.SubscriberOptions) (*webrtc.Subscriber, error)
}

// Config configures a Manager. Zero fields take the defaults named.
type Config struct {
	Streams Streams
	Engine  Engine
	// GracePeriod keeps a disconnected participant's place (default 30 s).
	GracePeriod time.Duration
	// MaxMeetingPublishers (default 20) and MaxMeetingMembers (default 50).
	MaxMeetingPublishers int
	MaxMeetingMembers    int
	// MaxPresenters in a class (default 3) and MaxClassMembers (default 5000).
	MaxPresenters   int
	MaxClassMembers int
	// SpeakerInterval is the active-speaker window (default 500 ms).
	SpeakerInterval time.Duration
	// LayerInterval is how often simulcast layers are re-chosen (default 1 s).
	LayerInterval time.Duration
	// KeepEnded is how many ended rooms stay readable (attendance; default 100).
	KeepEnded int
	// Store keeps rooms and attendance across restarts (nil: memory only,
	// and a stopping hub ends every room). With a Store, a stopping hub
	// only disconnects everyone: open rooms, their join links and their
	// attendance come back with Restore.
	Store  Store
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.GracePeriod <= 0 {
		c.GracePeriod = 30 * time.Second
	}
	if c.MaxMeetingPublishers <= 0 {
		c.MaxMeetingPublishers = 20
	}
	if c.MaxMeetingMembers <= 0 {
		c.MaxMeetingMembers = 50
	}
	if c.MaxPresenters <= 0 {
		c.MaxPresenters = 3
	}
	if c.MaxClassMembers <= 0 {
		c.MaxClassMembers = 5000
	}
	if c.SpeakerInterval <= 0 {
		c.SpeakerInterval = 500 * time.Millisecond
	}
	if c.LayerInterval <= 0 {
		c.LayerInterval = time.Second
	}
	if c.KeepEnded <= 0 {
		c.KeepEnded = 100
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Info describes a room.
type Info struct {
	ID           ID                `json:"id"`
	Kind         Kind              `json:"kind"`
	Name         string            `json:"name"`
	Case         string            `json:"case,omitempty"`
	Host         string            `json:"host"`
	Region       string            `json:"region,omitempty"`
	Created      time.Time         `json:"created"`
	Ended        *time.Time        `json:"ended,omitempty"`
	Settings     Settings          `json:"settings"`
	Participants []ParticipantInfo `json:"participants"`
}

// Settings are a room's own options, chosen at creation.
type Settings struct {
	// MaxMembers caps the members (cameras excluded) below the kind's
	// limit; 0 means the limit (Config.MaxMeetingMembers or MaxClassMembers).
	MaxMembers int `json:"max_members,omitempty"`
}

// ParticipantInfo describes a participant.
type ParticipantInfo struct {
	ID         ParticipantID    `json:"id"`
	Name       string           `json:"name"`
	User       string           `json:"user,omitempty"`
	Role       Role             `json:"role"`
	Camera     bool             `json:"camera,omitempty"` // a camera stream, not a person
	Streams    []media.StreamID `json:"streams"`
	Labels     []string         `json:"labels,omitempty"` // msid stream ids of Streams, same order
	AudioMuted bool             `json:"audio_muted"`
	VideoMuted bool             `json:"video_muted"`
	Hand       bool             `json:"hand"`
	Floor      bool             `json:"floor"`
	Connected  bool             `json:"connected"`
	Joined     time.Time        `json:"joined"`
}

// Event is pushed to participants. Type is one of the Event* constants.
type Event struct {
	Type        string           `json:"type"`
	Room        ID               `json:"room"`
	Participant *ParticipantInfo `json:"participant,omitempty"`
	From        ParticipantID    `json:"from,omitempty"`
	Speakers    []ParticipantID  `json:"speakers,omitempty"`
	Text        string           `json:"text,omitempty"`
	SDP         string           `json:"sdp,omitempty"`
	Kind        string           `json:"kind,omitempty"` // "audio" | "video" (mute)
	Value       *bool            `json:"value,omitempty"`
	Reason      string           `json:"reason,omitempty"`
	Time        time.Time        `json:"time"`
}

// Event types.
const (
	EventJoined  = "participant.joined"
	EventLeft    = "participant.left"
	EventUpdated = "participant.updated"
	EventOffer   = "offer"   // a subscriber offer to answer
	EventSpeaker = "speaker" // active speakers changed, loudest first
	EventChat    = "chat"
	EventHand    = "hand"
	EventMuted   = "muted"   // a host muted you
	EventFloor   = "floor"   // you were given (Value true) or lost the floor
	EventRemoved = "removed" // a host removed you
	EventEnded   = "ended"
)
