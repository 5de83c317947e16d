package gb28181

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"pingan/configs"
)

// Device returns a registered device.
func (s *Server) Device(ctx context.Context, id DeviceID) (Device, error) {
	d, _, err := s.reg.device(ctx, id)
	return d, err
}

// Devices lists every device in id order.
func (s *Server) Devices(ctx context.Context) ([]Device, error) {
	return s.reg.devices(ctx)
}

// Channels lists a device's channels in id order.
func (s *Server) Channels(ctx context.Context, deviceID DeviceID) ([]Channel, error) {
	if _, _, err := s.reg.device(ctx, deviceID); err != nil {
		return nil, err
	}
	return s.reg.channels(ctx, deviceID)
}

// Channel returns a channel and the device that owns it: what an INVITE
// or a DeviceControl for the channel is sent to.
func (s *Server) Channel(ctx context.Context, channelID DeviceID) (Channel, Device, error) {
	c, err := s.reg.channel(ctx, channelID)
	if err != nil {
		return Channel{}, Device{}, err
	}
	d, _, err := s.reg.device(ctx, c.DeviceID)
	if err != nil {
		return Channel{}, Device{}, err
	}
	return c, d, nil
}

// DeviceUpdate changes a device's settings; nil fields stay as they are.
type DeviceUpdate struct {
	Name      *string
	Transport *string // udp, tcp-passive or tcp-active
	Password  *string // "" falls back to sip.password
	Charset   *string // GB2312, GB18030 or UTF-8; "" = configured default
}

// UpdateDevice applies u to a registered device.
func (s *Server) UpdateDevice(ctx context.Context, id DeviceID, u DeviceUpdate) (Device, error) {
	if u.Transport != nil && !slices.Contains(configs.Transports, *u.Transport) {
		return Device{}, fmt.Errorf("%w: transport %q (want one of %v)", ErrInvalid, *u.Transport, configs.Transports)
	}
	if u.Charset != nil {
		switch strings.ToLower(*u.Charset) {
		case "", "gb2312", "gbk", "gb18030", "utf-8", "utf8":
		default:
			return Device{}, fmt.Errorf("%w: charset %q", ErrInvalid, *u.Charset)
		}
	}
	if u.Name != nil && len(*u.Name) > 200 {
		return Device{}, fmt.Errorf("%w: name longer than 200 bytes", ErrInvalid)
	}
	_, after, err := s.reg.update(ctx, id, func(d *Device, exists bool) error {
		if !exists {
			return fmt.Errorf("%w: %s", ErrDeviceNotFound, id)
		}
		if u.Name != nil {
			d.Name = *u.Name
		}
		if u.Transport != nil {
			d.Transport = *u.Transport
		}
		if u.Password != nil {
			d.Password = *u.Password
		}
		if u.Charset != nil {
			d.Charset = *u.Charset
		}
		return nil
	})
	return after, err
}

// DeleteDevice forgets a device and its channels. A device that is still
// alive re-appears at its next REGISTER.
func (s *Server) DeleteDevice(ctx context.Context, id DeviceID) error {
	if err := s.reg.remove(ctx, id); err != nil {
		return err
	}
	s.subs.drop(id)
	return nil
}
