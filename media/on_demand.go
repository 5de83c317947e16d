package media

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// onDemand is the owner goroutine's state for one on-demand stream: its
// source, the readers holding it, and the idle and restart timers.
type onDemand struct {
	src       Source
	refs      int                // readers and pending Subscribes
	cancel    context.CancelFunc // non-nil while the source runs
	stopping  bool               // cancelled for idleness, exit pending
	restart   bool               // a reader came while stopping: restart at once
	startedAt time.Time
	backoff   time.Duration

	idleTimer, retryTimer *time.Timer
	idleGen, retryGen     uint64 // invalidate timers that already fired
}

type timerKind int

const (
	timerIdle timerKind = iota
	timerRetry
)

type timerFired struct {
	s    *Stream
	kind timerKind
	gen  uint64
}

type sourceExit struct {
	s   *Stream
	err error
}

func (od *onDemand) stopTimers() {
	if od.idleTimer != nil {
		od.idleTimer.Stop()
		od.idleGen++
	}
	if od.retryTimer != nil {
		od.retryTimer.Stop()
		od.retryGen++
	}
}

// doSubscribe finds or creates the stream for id and takes a reference to
// it when it is on-demand.
func (h *Hub) doSubscribe(id StreamID) subscribeRes {
	if s, ok := h.streams[id]; ok {
		od := h.onDemand[s]
		if od != nil {
			od.refs++
			if od.stopping {
				od.stopping, od.restart = false, true
			}
			if od.idleTimer != nil {
				od.idleTimer.Stop()
				od.idleGen++
			}
		}
		return subscribeRes{s: s, onDemand: od != nil}
	}
	f := h.factoryFor(id)
	if f == nil {
		return subscribeRes{err: fmt.Errorf("subscribe %s: %w", id, ErrNotFound)}
	}
	src, err := f(id)
	if err != nil {
		return subscribeRes{err: fmt.Errorf("subscribe %s: %w", id, err)}
	}
	s := h.addStream(id, SourceOnDemand)
	od := &onDemand{src: src, refs: 1}
	h.onDemand[s] = od
	s.log.Info("on-demand source starting")
	h.startSource(s, od)
	return subscribeRes{s: s, onDemand: true}
}

// startSource runs od's source for s in a goroutine that reports its exit.
func (h *Hub) startSource(s *Stream, od *onDemand) {
	ctx, cancel := context.WithCancel(h.ctx)
	od.cancel = cancel
	od.startedAt = time.Now()
	h.wg.Go(func() {
		err := od.src.Start(ctx, s)
		cancel()
		select {
		case h.chSourceExit <- sourceExit{s: s, err: err}:
		case <-h.ctx.Done():
		}
	})
}

// doRelease drops one reference; the last one arms the idle timer.
func (h *Hub) doRelease(s *Stream) {
	od := h.onDemand[s]
	if od == nil {
		return
	}
	od.refs--
	if od.refs > 0 {
		return
	}
	od.idleGen++
	gen := od.idleGen
	od.idleTimer = time.AfterFunc(h.cfg.IdleTimeout, func() { h.fire(timerFired{s, timerIdle, gen}) })
}

// fire hands a timer event to the owner goroutine (from a timer's goroutine).
func (h *Hub) fire(ev timerFired) {
	select {
	case h.chTimer <- ev:
	case <-h.ctx.Done():
	}
}

func (h *Hub) doTimer(ev timerFired) {
	od := h.onDemand[ev.s]
	if od == nil {
		return
	}
	switch ev.kind {
	case timerIdle:
		if ev.gen != od.idleGen || od.refs > 0 {
			return
		}
		if od.cancel != nil {
			ev.s.log.Info("on-demand source idle: stopping")
			od.stopping = true
			od.cancel()
			return
		}
		h.removeStream(ev.s, ErrNotFound) // idle while waiting to restart
	case timerRetry:
		if ev.gen != od.retryGen || od.cancel != nil {
			return
		}
		if od.refs == 0 {
			h.removeStream(ev.s, ErrNotFound)
			return
		}
		ev.s.log.Info("on-demand source restarting")
		h.startSource(ev.s, od)
	}
}

// doSourceExit decides what follows a source's return: removal when nobody
// reads or the source says the stream does not exist, else a restart with
// backoff.
func (h *Hub) doSourceExit(ev sourceExit) {
	s := ev.s
	od := h.onDemand[s]
	if od == nil {
		return
	}
	od.cancel = nil
	s.setOnline(false)
	switch {
	case errors.Is(ev.err, ErrNotFound):
		s.log.Warn("on-demand source: stream not found", "error", ev.err)
		h.removeStream(s, ErrNotFound)
		return
	case od.refs == 0:
		s.log.Info("on-demand source stopped")
		h.removeStream(s, ErrNotFound)
		return
	case od.restart:
		od.restart = false
		h.startSource(s, od)
		return
	}
	if time.Since(od.startedAt) >= h.backoffReset {
		od.backoff = 0
	}
	if od.backoff == 0 {
		od.backoff = h.backoffMin
	} else {
		od.backoff = min(2*od.backoff, h.backoffMax)
	}
	s.log.Warn("on-demand source ended; restarting", "error", ev.err, "in", od.backoff)
	od.retryGen++
	gen := od.retryGen
	od.retryTimer = time.AfterFunc(od.backoff, func() { h.fire(timerFired{s, timerRetry, gen}) })
}
