package hub

import (
	"context"
	"errors"
	"fmt"

	"pingan/gateway/gb28181"
	"pingan/signaling"
)

// devicesAdapter lets signaling.DevicesAPI use the GB28181 server:
// signaling and gateway do not import each other, so the hub converts
// types and errors here.
type devicesAdapter struct {
	gb *gb28181.Server
}

var _ signaling.DeviceService = devicesAdapter{}

func (a devicesAdapter) Devices(ctx context.Context) ([]signaling.DeviceInfo, error) {
	ds, err := a.gb.Devices(ctx)
	if err != nil {
		return nil, gbError(err)
	}
	out := make([]signaling.DeviceInfo, len(ds))
	for i, d := range ds {
		out[i] = deviceInfo(d)
	}
	return out, nil
}

// CreateDevice provisions nd, then applies its transport and charset. The
// existence check and the write are two steps: two administrators creating
// the same id at the same instant both succeed, the later settings winning.
func (a devicesAdapter) CreateDevice(ctx context.Context, nd signaling.NewDevice, allowed func(string) bool) (signaling.DeviceInfo, error) {
	id := gb28181.DeviceID(nd.ID)
	if _, err := gb28181.ParseDeviceID(nd.ID); err != nil {
		return signaling.DeviceInfo{}, fmt.Errorf("%w: %w", signaling.ErrDeviceInvalid, err)
	}
	if !allowed(id.Region()) {
		return signaling.DeviceInfo{}, fmt.Errorf("%w: the id belongs to region %s", signaling.ErrDeviceScope, id.Region())
	}
	if _, err := a.gb.Device(ctx, id); err == nil {
		return signaling.DeviceInfo{}, fmt.Errorf("%w: %s", signaling.ErrDeviceExists, nd.ID)
	} else if !errors.Is(err, gb28181.ErrDeviceNotFound) {
		return signaling.DeviceInfo{}, gbError(err)
	}
	d, err := a.gb.Provision(ctx, gb28181.Provisioning{ID: id, Password: nd.Password, Name: nd.Name})
	if err != nil {
		return signaling.DeviceInfo{}, gbError(err)
	}
	if nd.Transport != "" || nd.Charset != "" {
		p := nd.Patch()
		d, err = a.gb.UpdateDevice(ctx, id, gb28181.DeviceUpdate{Transport: p.Transport, Charset: p.Charset})
		if err != nil {
			_ = a.gb.DeleteDevice(ctx, id) // do not leave a half-made device behind
			return signaling.DeviceInfo{}, gbError(err)
		}
	}
	return deviceInfo(d), nil
}

func (a devicesAdapter) Device(ctx context.Context, id string) (signaling.DeviceInfo, error) {
	d, err := a.gb.Device(ctx, gb28181.DeviceID(id))
	if err != nil {
		return signaling.DeviceInfo{}, gbError(err)
	}
	return deviceInfo(d), nil
}

func (a devicesAdapter) Channels(ctx context.Context, deviceID string) ([]signaling.ChannelInfo, error) {
	cs, err := a.gb.Channels(ctx, gb28181.DeviceID(deviceID))
	if err != nil {
		return nil, gbError(err)
	}
	out := make([]signaling.ChannelInfo, len(cs))
	for i, c := range cs {
		out[i] = channelInfo(c)
	}
	return out, nil
}

func (a devicesAdapter) Channel(ctx context.Context, channelID string) (signaling.ChannelInfo, error) {
	c, _, err := a.gb.Channel(ctx, gb28181.DeviceID(channelID))
	if err != nil {
		return signaling.ChannelInfo{}, gbError(err)
	}
	return channelInfo(c), nil
}

func (a devicesAdapter) RefreshCatalog(ctx context.Context, id string) (signaling.CatalogSummary, error) {
	r, err := a.gb.Catalog(ctx, gb28181.DeviceID(id))
	if err != nil {
		return signaling.CatalogSummary{}, gbError(err)
	}
	return signaling.CatalogSummary{SumNum: r.SumNum, Received: r.Received, Complete: r.Complete, Channels: r.Channels, Changed: r.Changed}, nil
}

func (a devicesAdapter) UpdateDevice(ctx context.Context, id string, p signaling.DevicePatch) (signaling.DeviceInfo, error) {
	d, err := a.gb.UpdateDevice(ctx, gb28181.DeviceID(id), gb28181.DeviceUpdate{
		Name: p.Name, Transport: p.Transport, Password: p.Password, Charset: p.Charset,
	})
	if err != nil {
		return signaling.DeviceInfo{}, gbError(err)
	}
	return deviceInfo(d), nil
}

func (a devicesAdapter) DeleteDevice(ctx context.Context, id string) error {
	return gbError(a.gb.DeleteDevice(ctx, gb28181.DeviceID(id)))
}

func (a devicesAdapter) PTZ(ctx context.Context, channelID, action string, speed int) error {
	return gbError(a.gb.PTZ(ctx, gb28181.DeviceID(channelID), action, speed))
}

func (a devicesAdapter) Preset(ctx context.Context, channelID, action string, index int) error {
	return gbError(a.gb.Preset(ctx, gb28181.DeviceID(channelID), action, index))
}

func deviceInfo(d gb28181.Device) signaling.DeviceInfo {
	return signaling.DeviceInfo{
		ID: string(d.ID), Name: d.Name, Manufacturer: d.Manufacturer, Model: d.Model, Firmware: d.Firmware,
		Online: d.Online, Transport: d.Transport, SIPTransport: d.SIPTransport, RemoteAddress: d.RemoteAddr,
		RegisteredAt: d.RegisteredAt, LastKeepalive: d.LastKeepalive, Expires: d.Expires,
		ChannelCount: d.ChannelCount, Region: d.Region, Charset: d.Charset, HasPassword: d.Password != "",
	}
}

func channelInfo(c gb28181.Channel) signaling.ChannelInfo {
	return signaling.ChannelInfo{
		ID: string(c.ID), DeviceID: string(c.DeviceID), Name: c.Name, Manufacturer: c.Manufacturer, Model: c.Model,
		Online: c.Online, Longitude: c.Longitude, Latitude: c.Latitude, CivilCode: c.CivilCode, Region: c.Region,
		PTZType: c.PTZType, ParentID: c.ParentID, StreamID: c.StreamID,
	}
}

// gbError wraps gateway errors in the sentinels signaling maps to statuses;
// store errors pass through unchanged.
func gbError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gb28181.ErrDeviceNotFound), errors.Is(err, gb28181.ErrChannelNotFound), errors.Is(err, gb28181.ErrBadID):
		return fmt.Errorf("%w: %w", signaling.ErrNoDevice, err)
	case errors.Is(err, gb28181.ErrInvalid):
		return fmt.Errorf("%w: %w", signaling.ErrDeviceInvalid, err)
	case errors.Is(err, gb28181.ErrOffline), errors.Is(err, gb28181.ErrNotRunning):
		return fmt.Errorf("%w: %w", signaling.ErrDeviceOffline, err)
	case errors.Is(err, gb28181.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", signaling.ErrDeviceTimeout, err)
	}
	return err
}
