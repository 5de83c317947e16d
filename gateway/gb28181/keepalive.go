package gb28181

import (
	"context"
	"time"
)

// keepalive handles a Keepalive notify (GB/T 28181-2016 §9.6; digest §4):
// a registered device stays online, and a new source ip:port (NAT
// rebinding, 4G devices) becomes its address at once. A keepalive from an
// unknown or offline device is answered 200 and otherwise ignored, unless
// KeepaliveRevives is set; then a known device comes back online (its
// registration renewed from now).
func (s *Server) keepalive(ctx context.Context, in inbound) {
	if _, err := ParseDeviceID(string(in.from)); err != nil {
		return
	}
	now := s.clock.Now()
	// The common case: an online device at the same address. Remember the
	// keepalive in memory; if the stored deadline is getting close, a
	// sweep writes it in time (with the others queued, in one batch).
	if d, err := s.reg.stored(ctx, in.from); err == nil && d.Online &&
		(in.source == "" || in.source == d.RemoteAddr) {
		s.reg.sawKeepalive(in.from, now, s.reg.keepaliveDurable(d, now))
		return
	}
	before, after, err := s.reg.update(ctx, in.from, func(d *Device, exists bool) error {
		if !exists {
			return errSkip
		}
		if !d.Online {
			if !s.cfg.KeepaliveRevives {
				return errSkip
			}
			d.Online = true
			if d.Expires == 0 || now.After(d.RegistrationExpiry()) {
				d.RegisteredAt = now
				d.Expires = int(s.cfg.SIP.RegisterExpires.D() / time.Second)
			}
		}
		d.LastKeepalive = now
		if in.source != "" && in.source != d.RemoteAddr {
			d.RemoteAddr = in.source
			d.SIPTransport = in.transport
		}
		return nil
	})
	if err != nil {
		s.log.Warn("keepalive not saved", "device", in.from, "err", err)
		return
	}
	if !after.Online {
		s.log.Debug("keepalive from an unregistered device", "device", in.from, "source", in.source)
		return
	}
	if before.RemoteAddr != after.RemoteAddr {
		s.log.Info("device address changed", "device", after.ID, "old", before.RemoteAddr, "new", after.RemoteAddr)
	}
	if !before.Online {
		s.log.Info("device back online after a keepalive", "device", after.ID)
		s.publish(EventOnline, after, "", nil)
		s.startSync(after.ID)
	}
}

// sweepLoop checks liveness deadlines every SweepInterval until ctx ends.
func (s *Server) sweepLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// keep what was queued: another node, or this one restarted,
			// reads the deadlines from the store
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			s.reg.flushKeepalives(fctx)
			cancel()
			return
		case <-t.C:
			s.sweep(ctx)
		}
	}
}

// sweep marks devices offline whose deadline passed: KeepaliveMissed
// intervals without a keepalive or registration, or the registration
// expired. It also drops stale nonces and refreshes subscriptions.
func (s *Server) sweep(ctx context.Context) {
	now := s.clock.Now()
	s.auth.expire(now)
	s.reg.flushDue(ctx, now)
	for {
		ids, err := s.reg.due(ctx, now, 256)
		if err != nil {
			s.log.Warn("liveness sweep failed", "err", err)
			return
		}
		for _, id := range ids {
			s.expireDevice(ctx, id, now)
		}
		if len(ids) < 256 {
			break
		}
	}
	s.refreshSubscriptions(now)
}

// expireDevice marks a claimed device offline if it is still overdue; a
// device refreshed meanwhile is put back in the deadline index.
func (s *Server) expireDevice(ctx context.Context, id DeviceID, now time.Time) {
	reason := "keepalive"
	before, after, err := s.reg.update(ctx, id, func(d *Device, exists bool) error {
		if !exists || !d.Online {
			return errSkip
		}
		if d.deadline(s.reg.interval, s.reg.missed).After(now) {
			return nil // rewrite re-indexes the new deadline
		}
		if d.Expires > 0 && !now.Before(d.RegistrationExpiry()) {
			reason = "expired"
		}
		d.Online = false
		return nil
	})
	if err != nil {
		s.log.Warn("cannot mark device offline", "device", id, "err", err)
		return
	}
	if before.Online && !after.Online {
		s.log.Info("device offline", "device", id, "reason", reason, "last_keepalive", after.LastKeepalive)
		s.subs.drop(id)
		s.publish(EventOffline, after, reason, nil)
	}
}
