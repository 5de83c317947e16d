package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"pingan/internal/auth"
)

// DispatchEventLog is the WebSocket hub's EventLog over dispatch's global
// event log. Topics: case.* and department.* events go to "cases" and
// "case:{code}"; incident.* events to "incidents", "incident:{id}" and
// their case's "case:{code}"; other events (stats.*) to their type's prefix.
// The body is the dispatch.Event as the HTTP API shows it, encoded once
// (json.RawMessage).
//
// Every console wakes when an event is written and reads from its offset.
// While the log's newest offset (learnt through Watch) stays the same,
// reads for the same scope, offset and limit share one store read, so
// 1,000 consoles cost one read per event, not 1,000.
type DispatchEventLog struct {
	svc eventService

	mu       sync.Mutex
	watching bool   // a Watch is running: newest is current
	newest   uint64 // newest offset Watch delivered
	gen      uint64 // the newest offset the cached reads belong to
	reads    map[eventReadKey]*eventRead
}

var _ EventLog = (*DispatchEventLog)(nil)

// eventReadKey identifies reads whose answers are equal: the log filters
// by the principal's region (and, to stay safe, role).
type eventReadKey struct {
	region string
	role   auth.Role
	after  uint64
	limit  int
}

// eventRead is one shared read; done closes when its fields are set.
type eventRead struct {
	done   chan struct{}
	events []LogEvent
	held   bool
	err    error
}

// sharedReadTimeout bounds a shared read, which no single caller's context
// may cancel (the others wait for it too).
const sharedReadTimeout = 10 * time.Second

// NewDispatchEventLog adapts svc (a *dispatch.Service) for NewWSHub.
func NewDispatchEventLog(svc eventService) *DispatchEventLog {
	return &DispatchEventLog{svc: svc, reads: map[eventReadKey]*eventRead{}}
}

// EventsFor returns the events after offset that p may see. When events
// outside p's scope follow the last visible one, a final entry without
// topics carries the offset past them, so the connection's cursor moves on
// and the next read does not scan them again. The slice may be shared
// with other callers: read it, do not modify it.
func (l *DispatchEventLog) EventsFor(ctx context.Context, p auth.Principal, after uint64, limit int) ([]LogEvent, bool, error) {
	key := eventReadKey{region: p.Region, role: p.Role, after: after, limit: limit}
	l.mu.Lock()
	if !l.watching {
		l.mu.Unlock()
		return l.read(ctx, p, after, limit)
	}
	if l.gen != l.newest {
		l.gen = l.newest
		clear(l.reads)
	}
	rd, shared := l.reads[key]
	if !shared {
		rd = &eventRead{done: make(chan struct{})}
		l.reads[key] = rd
	}
	l.mu.Unlock()
	if !shared {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedReadTimeout)
		rd.events, rd.held, rd.err = l.read(rctx, p, after, limit)
		cancel()
		if rd.err != nil { // do not keep failures
			l.mu.Lock()
			if l.reads[key] == rd {
				delete(l.reads, key)
			}
			l.mu.Unlock()
		}
		close(rd.done)
	}
	select {
	case <-rd.done:
		return rd.events, rd.held, rd.err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// read is one store read, converted.
func (l *DispatchEventLog) read(ctx context.Context, p auth.Principal, after uint64, limit int) ([]LogEvent, bool, error) {
	pg, err := l.svc.ReadEvents(ctx, p, after, limit)
	if err != nil {
		return nil, false, err
	}
	out := make([]LogEvent, 0, len(pg.Events)+1)
	last := after
	for _, ev := range pg.Events {
		body, err := json.Marshal(ev) // once, not once per console
		if err != nil {
			return nil, false, fmt.Errorf("encode event %d: %w", ev.Offset, err)
		}
		out = append(out, LogEvent{Offset: ev.Offset, Topics: EventTopics(ev), Body: json.RawMessage(body)})
		last = ev.Offset
	}
	if pg.Next > last {
		out = append(out, LogEvent{Offset: pg.Next})
	}
	return out, pg.Recovered, nil
}

// LatestOffset is the newest event offset in the log (0 when empty).
func (l *DispatchEventLog) LatestOffset(ctx context.Context) (uint64, error) {
	ls, ok := l.svc.(interface {
		LatestEventOffset(ctx context.Context) (uint64, error)
	})
	if !ok {
		return 0, errors.ErrUnsupported
	}
	return ls.LatestEventOffset(ctx)
}

// Watch delivers the newest offset whenever any node appends an event, and
// records it first, so reads after the wake-up see a new generation. One
// Watch at a time (the WebSocket hub's Run) is expected.
func (l *DispatchEventLog) Watch(ctx context.Context) <-chan uint64 {
	in := l.svc.Watch(ctx)
	out := make(chan uint64, 1)
	l.mu.Lock()
	l.watching = true
	l.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			l.mu.Lock()
			l.watching = false
			l.mu.Unlock()
		}()
		for off := range in {
			l.mu.Lock()
			l.newest = max(l.newest, off)
			l.mu.Unlock()
			select {
			case out <- off:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
