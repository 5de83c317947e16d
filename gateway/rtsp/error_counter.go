package rtsp

import (
	"log/slog"
	"sync"
	"time"
)

// errorCounter counts per-packet events (losses, decode errors, write
// errors) and logs the total at most once per interval, never one line per
// packet.
type errorCounter struct {
	log      *slog.Logger
	msg      string
	interval time.Duration

	mu      sync.Mutex
	n       uint64
	last    error
	lastLog time.Time
}

func newErrorCounter(log *slog.Logger, msg string) *errorCounter {
	return &errorCounter{log: log, msg: msg, interval: 5 * time.Second}
}

// add counts n events; err, if any, is reported as the last error.
func (c *errorCounter) add(n uint64, err error) {
	c.mu.Lock()
	c.n += n
	if err != nil {
		c.last = err
	}
	now := time.Now()
	if now.Sub(c.lastLog) < c.interval {
		c.mu.Unlock()
		return
	}
	total, last := c.take(now)
	c.mu.Unlock()
	c.emit(total, last)
}

// flush logs what is left, e.g. when the session ends.
func (c *errorCounter) flush() {
	c.mu.Lock()
	total, last := c.take(time.Now())
	c.mu.Unlock()
	c.emit(total, last)
}

func (c *errorCounter) take(now time.Time) (uint64, error) {
	total, last := c.n, c.last
	c.n, c.last, c.lastLog = 0, nil, now
	return total, last
}

func (c *errorCounter) emit(total uint64, last error) {
	if total == 0 {
		return
	}
	if last != nil {
		c.log.Warn(c.msg, "count", total, "last_error", last)
		return
	}
	c.log.Warn(c.msg, "count", total)
}
