package webrtc

import (
	"sync/atomic"
	"time"
)

// sendClock is a PeerConnection's clock for its sender-report interceptor,
// which otherwise reads the wall clock for every packet it passes (pion's
// report.SenderInterceptor: time.Now costs 150-200 ns on this host). While a
// writer is inside a unit (begin … end) the clock answers the time the unit
// started, read once per unit: every packet of a unit is sent within a few
// microseconds of it. Outside a unit (the report ticker) it reads the wall
// clock, so a report's NTP time stays exact even when the stream stalls.
// The reports pair the NTP time with an RTP time extrapolated from the last
// packet on the same clock, so the mapping the receiver syncs with is
// consistent either way.
type sendClock struct {
	epoch   time.Time
	at      atomic.Int64 // start of the latest unit, since epoch
	writers atomic.Int32 // writers inside a unit
}

func newSendClock() *sendClock { return &sendClock{epoch: time.Now()} }

// begin marks the start of a unit and returns the time.
func (c *sendClock) begin() time.Time {
	now := time.Now()
	c.at.Store(int64(now.Sub(c.epoch)))
	c.writers.Add(1)
	return now
}

// end marks the end of the unit begin started.
func (c *sendClock) end() { c.writers.Add(-1) }

// now is the report interceptor's clock (report.SenderNow).
func (c *sendClock) now() time.Time {
	if c.writers.Load() > 0 {
		return c.epoch.Add(time.Duration(c.at.Load()))
	}
	return time.Now()
}
