package gb28181

// Channel is one catalog item of a device that can be played or steered: a
// camera behind an NVR, or the IPC's own video channel.
type Channel struct {
	ID           DeviceID `json:"id"`
	DeviceID     DeviceID `json:"device_id"`
	Name         string   `json:"name,omitempty"`
	Manufacturer string   `json:"manufacturer,omitempty"`
	Model        string   `json:"model,omitempty"`
	Online       bool     `json:"online"`
	Longitude    float64  `json:"longitude,omitempty"`
	Latitude     float64  `json:"latitude,omitempty"`
	CivilCode    string   `json:"civil_code,omitempty"`
	// Region is CivilCode when usable, else from the id, else the device's.
	Region string `json:"region"`
	// PTZType: 1 dome, 2 half-dome, 3 fixed box, 4 remote-control fixed; 0 unknown.
	PTZType  int    `json:"ptz_type,omitempty"`
	Parental bool   `json:"parental,omitempty"`
	ParentID string `json:"parent_id,omitempty"`
	Address  string `json:"address,omitempty"`
	StreamID string `json:"stream_id"`
}

// StreamID is the media stream id of a channel: "gb/{channelID}".
func StreamID(channelID DeviceID) string { return "gb/" + string(channelID) }

// sameAs reports whether two channel records carry the same data.
func (c Channel) sameAs(o Channel) bool { return c == o }
