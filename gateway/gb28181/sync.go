package gb28181

import (
	"context"
	"errors"

	"pingan/gateway/gb28181/manscdp"
)

// startSync runs the after-registration work for a device in the
// background, once at a time per device: Catalog, DeviceInfo, DeviceStatus,
// then the catalog subscription (digest §3: "after a device's first
// successful registration").
func (s *Server) startSync(id DeviceID) {
	s.mu.Lock()
	if s.syncing[id] {
		s.mu.Unlock()
		return
	}
	s.syncing[id] = true
	s.mu.Unlock()
	s.background(func(ctx context.Context) {
		defer func() {
			s.mu.Lock()
			delete(s.syncing, id)
			s.mu.Unlock()
		}()
		s.syncDevice(ctx, id)
	})
}

func (s *Server) syncDevice(ctx context.Context, id DeviceID) {
	log := s.log.With("device", id)
	if _, err := s.Catalog(ctx, id); err != nil && !errors.Is(err, context.Canceled) {
		log.Info("catalog query failed", "err", err)
	}
	if err := s.RefreshInfo(ctx, id); err != nil && !errors.Is(err, context.Canceled) {
		log.Debug("device info query failed", "err", err)
	}
	if m, err := s.Query(ctx, id, manscdp.CmdDeviceStatus, nil); err == nil {
		st := m.DeviceStatus()
		log.Debug("device status", "online", st.Online, "status", st.Status, "record", st.Record)
	}
	if err := s.subscribeCatalog(ctx, id); err != nil && !errors.Is(err, context.Canceled) {
		log.Debug("catalog subscription refused", "err", err)
	}
}

// RefreshInfo asks the device for DeviceInfo and stores its name,
// manufacturer, model and firmware (a name set through the API is kept).
func (s *Server) RefreshInfo(ctx context.Context, id DeviceID) error {
	m, err := s.Query(ctx, id, manscdp.CmdDeviceInfo, nil)
	if err != nil {
		return err
	}
	info := m.DeviceInfo()
	if info.Result == "ERROR" {
		return errors.New("device answered DeviceInfo with ERROR")
	}
	_, _, err = s.reg.update(ctx, id, func(d *Device, exists bool) error {
		if !exists {
			return errSkip
		}
		if d.Name == "" {
			d.Name = info.DeviceName
		}
		d.Manufacturer, d.Model, d.Firmware = info.Manufacturer, info.Model, info.Firmware
		return nil
	})
	return err
}
