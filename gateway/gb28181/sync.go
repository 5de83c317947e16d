package gb28181

import (
	"context"
	"errors"
	"time"

	"pingan/gateway/gb28181/manscdp"
)

// maxSyncs bounds the after-registration syncs in flight. When thousands of
// devices register at once (a platform restart, a power cut coming back)
// their syncs queue here instead of all querying at once: unbounded, the
// queries' UDP retransmits and goroutines cost more than the registrations.
const maxSyncs = 64

// During a registration burst (at least burstRegisters REGISTERs in the
// last second) only burstSyncs syncs run; the others wait. A sync is
// fourteen SIP messages against a registration's four, so running 64 of
// them at once took most of the CPU the registrations needed; deferred,
// they catch up when the burst is over, and a few keep going meanwhile.
const (
	burstRegisters = 100
	burstSyncs     = 4
	burstPoll      = 100 * time.Millisecond
)

// countRegister counts a REGISTER for registerBurst.
func (s *Server) countRegister() {
	now := time.Now() // a CPU matter, not protocol time: not s.clock
	s.regRate.mu.Lock()
	defer s.regRate.mu.Unlock()
	if now.Sub(s.regRate.start) >= time.Second {
		s.regRate.last = s.regRate.n
		if now.Sub(s.regRate.start) >= 2*time.Second {
			s.regRate.last = 0 // a quiet second in between
		}
		s.regRate.start, s.regRate.n = now, 0
	}
	s.regRate.n++
}

// registerBurst reports whether REGISTERs are arriving at burst rate:
// burstRegisters in the last full second or so far in this one.
func (s *Server) registerBurst() bool {
	now := time.Now()
	s.regRate.mu.Lock()
	defer s.regRate.mu.Unlock()
	if now.Sub(s.regRate.start) >= 2*time.Second {
		return false
	}
	if now.Sub(s.regRate.start) >= time.Second {
		return s.regRate.n >= burstRegisters
	}
	return s.regRate.last >= burstRegisters || s.regRate.n >= burstRegisters
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// startSync queues the after-registration work for a device, once at a
// time per device: Catalog, DeviceInfo, DeviceStatus, then the catalog
// subscription (digest §3: "after a device's first successful
// registration"). Up to maxSyncs workers run the queue in order.
func (s *Server) startSync(id DeviceID) {
	s.mu.Lock()
	if s.syncing[id] {
		s.mu.Unlock()
		return
	}
	s.syncing[id] = true
	s.syncQueue = append(s.syncQueue, id)
	if s.syncWorkers >= maxSyncs {
		s.mu.Unlock()
		return
	}
	s.syncWorkers++
	s.mu.Unlock()
	if !s.background(s.syncWorker) {
		s.mu.Lock()
		s.syncWorkers--
		s.mu.Unlock()
	}
}

// syncWorker runs queued syncs until the queue is empty or ctx ends.
func (s *Server) syncWorker(ctx context.Context) {
	for {
		s.mu.Lock()
		if len(s.syncQueue) == 0 || ctx.Err() != nil {
			s.syncWorkers--
			s.mu.Unlock()
			return
		}
		if s.syncActive >= burstSyncs && s.registerBurst() {
			s.mu.Unlock()
			sleep(ctx, burstPoll) // an ended ctx returns at the top
			continue
		}
		s.syncActive++
		id := s.syncQueue[0]
		s.syncQueue[0] = ""
		s.syncQueue = s.syncQueue[1:]
		if len(s.syncQueue) == 0 {
			s.syncQueue = nil // let the drained backing array go
		}
		s.mu.Unlock()
		s.syncDevice(ctx, id)
		s.mu.Lock()
		s.syncActive--
		delete(s.syncing, id)
		s.mu.Unlock()
	}
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
