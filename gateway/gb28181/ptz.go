package gb28181

import (
	"context"
	"fmt"

	"pingan/gateway/gb28181/manscdp"
	"pingan/gateway/gb28181/ptz"
)

// controlPriority is Info/ControlPriority in our DeviceControl messages.
const controlPriority = 5

// PTZ moves a channel's camera: up, down, left, right, upleft, upright,
// downleft, downright, zoomin, zoomout, stop (and focus/iris actions),
// speed 0–255 (GB/T 28181-2016 annex A.3; digest §8). It sends a
// DeviceControl to the device that owns the channel; devices do not answer it.
func (s *Server) PTZ(ctx context.Context, channelID DeviceID, action string, speed int) error {
	if speed < 0 || speed > 255 {
		return fmt.Errorf("%w: speed %d outside 0–255", ErrInvalid, speed)
	}
	cmd, err := ptz.Encode(action, uint8(speed))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return s.control(ctx, channelID, func(sn int) *manscdp.Node {
		return manscdp.PTZControl(sn, string(channelID), cmd, controlPriority)
	})
}

// Preset sets, calls (goto) or removes preset index 1–255 of a channel.
func (s *Server) Preset(ctx context.Context, channelID DeviceID, action string, index int) error {
	cmd, err := ptz.Preset(action, index)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return s.control(ctx, channelID, func(sn int) *manscdp.Node {
		return manscdp.PTZControl(sn, string(channelID), cmd, controlPriority)
	})
}

// KeyframeRequest asks a channel for an I-frame (DeviceControl IFameCmd,
// the standard's spelling).
func (s *Server) KeyframeRequest(ctx context.Context, channelID DeviceID) error {
	return s.control(ctx, channelID, func(sn int) *manscdp.Node {
		return manscdp.KeyframeControl(sn, string(channelID))
	})
}

// control sends a DeviceControl about a channel to its owning device.
func (s *Server) control(ctx context.Context, channelID DeviceID, build func(sn int) *manscdp.Node) error {
	_, dev, err := s.Channel(ctx, channelID)
	if err != nil {
		return err
	}
	body, err := s.Marshal(dev, build(s.nextSN()))
	if err != nil {
		return err
	}
	return s.sendMessage(ctx, dev, body)
}
