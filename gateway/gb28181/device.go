package gb28181

import "time"

// Device is a registered GB28181 device (IPC, NVR, encoder) or lower platform.
type Device struct {
	ID           DeviceID `json:"id"`
	Name         string   `json:"name,omitempty"`
	Manufacturer string   `json:"manufacturer,omitempty"`
	Model        string   `json:"model,omitempty"`
	Firmware     string   `json:"firmware,omitempty"`
	// Transport is the media transport used when playing its channels:
	// udp, tcp-passive or tcp-active (default from media.transport).
	Transport string `json:"transport"`
	// SIPTransport is how the device talks SIP to us: udp or tcp.
	SIPTransport string `json:"sip_transport"`
	// RemoteAddr is the ip:port its last REGISTER or keepalive came from
	// (honouring Via received/rport); requests to it go there.
	RemoteAddr string `json:"remote_addr"`
	// Contact is the Contact URI of its last REGISTER (informational).
	Contact       string    `json:"contact,omitempty"`
	Online        bool      `json:"online"`
	RegisteredAt  time.Time `json:"registered_at,omitzero"`
	LastKeepalive time.Time `json:"last_keepalive,omitzero"`
	// Expires is the registration lifetime granted, in seconds.
	Expires      int `json:"expires"`
	ChannelCount int `json:"channel_count"`
	// Region is the GB/T 2260 code from its CivilCode or its id.
	Region string `json:"region"`
	// Password overrides sip.password for this device. Never shown by the API.
	Password string `json:"password,omitempty"`
	// Charset is the body charset to send it (GB2312 or UTF-8); "" = config default.
	Charset string `json:"charset,omitempty"`
	// KeepaliveInterval is the device's heartbeat interval in seconds when
	// known; 0 = sip.keepalive_interval.
	KeepaliveInterval int `json:"keepalive_interval,omitempty"`
	// Synced is when the last complete catalog arrived.
	Synced time.Time `json:"synced,omitzero"`
}

// RegistrationExpiry is when the current registration runs out.
func (d Device) RegistrationExpiry() time.Time {
	return d.RegisteredAt.Add(time.Duration(d.Expires) * time.Second)
}

// deadline is when the device is declared offline unless it registers or
// keeps alive again: interval × missed after the last sign of life, or the
// registration expiry, whichever is first (digest §4).
func (d Device) deadline(defInterval time.Duration, missed int) time.Time {
	iv := defInterval
	if d.KeepaliveInterval > 0 {
		iv = time.Duration(d.KeepaliveInterval) * time.Second
	}
	last := d.RegisteredAt
	if d.LastKeepalive.After(last) {
		last = d.LastKeepalive
	}
	dl := last.Add(iv * time.Duration(missed))
	if exp := d.RegistrationExpiry(); d.Expires > 0 && exp.Before(dl) {
		dl = exp
	}
	return dl
}
