package gb28181

import (
	"context"
	"fmt"
	"time"
)

// Provisioning announces a device before it first registers: its digest
// password (so it can register when sip.password is empty), its name and,
// optionally, the channels it is known to have, so their streams resolve
// before the first catalog arrives (the catalog then replaces them).
type Provisioning struct {
	ID       DeviceID
	Password string
	Name     string
	Channels []Channel
}

// Provision creates or updates the device record of p. An existing device
// keeps its registration state; its password and name are replaced (an
// empty Name keeps the old one). Used by `serve --demo` and by operators
// provisioning devices ahead of their installation.
func (s *Server) Provision(ctx context.Context, p Provisioning) (Device, error) {
	if _, err := ParseDeviceID(string(p.ID)); err != nil {
		return Device{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(p.Name) > 200 {
		return Device{}, fmt.Errorf("%w: name longer than 200 bytes", ErrInvalid)
	}
	_, after, err := s.reg.update(ctx, p.ID, func(d *Device, exists bool) error {
		if !exists {
			d.Transport = s.cfg.MediaTransport
			d.Region = p.ID.Region()
		}
		d.Password = p.Password
		if p.Name != "" {
			d.Name = p.Name
		}
		return nil
	})
	if err != nil || len(p.Channels) == 0 {
		return after, err
	}
	known, err := s.reg.channels(ctx, p.ID)
	if err != nil {
		return after, err
	}
	have := make(map[DeviceID]bool, len(known))
	for _, c := range known {
		have[c.ID] = true
	}
	var delta channelDelta
	for _, c := range p.Channels {
		if have[c.ID] {
			continue // the device's own catalog wins
		}
		if _, err := ParseDeviceID(string(c.ID)); err != nil {
			return after, fmt.Errorf("%w: channel: %w", ErrInvalid, err)
		}
		c.DeviceID = p.ID
		c.StreamID = StreamID(c.ID)
		if c.Region == "" {
			c.Region = regionOf(c.CivilCode, c.ID)
		}
		if c.Region == "" {
			c.Region = after.Region
		}
		delta.put = append(delta.put, c)
	}
	if delta.empty() {
		return after, nil
	}
	n := len(delta.put)
	if err := s.reg.applyChannels(ctx, p.ID, delta, func(before int) int { return before + n }, time.Time{}); err != nil {
		return after, err
	}
	return s.Device(ctx, p.ID)
}
