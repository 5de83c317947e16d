package gb28181

import (
	"context"
	"fmt"
	"sync"

	"pingan/gateway/gb28181/manscdp"
)

// waitKey correlates a <Response> with the request that asked for it:
// (device, CmdType, SN) (GB/T 28181-2016 §9.5; digest §5).
type waitKey struct {
	dev DeviceID
	cmd string
	sn  int
}

// waiter receives the responses for one key. deliver must not block.
type waiter interface {
	deliver(m *manscdp.Message)
}

// waiters maps open requests to their waiters.
type waiters struct {
	mu sync.Mutex
	m  map[waitKey]waiter
}

func newWaiters() *waiters { return &waiters{m: make(map[waitKey]waiter)} }

func (w *waiters) add(k waitKey, wt waiter) {
	w.mu.Lock()
	w.m[k] = wt
	w.mu.Unlock()
}

func (w *waiters) remove(k waitKey) {
	w.mu.Lock()
	delete(w.m, k)
	w.mu.Unlock()
}

// deliver hands m to its waiter and reports whether one was waiting.
func (w *waiters) deliver(k waitKey, m *manscdp.Message) bool {
	w.mu.Lock()
	wt, ok := w.m[k]
	w.mu.Unlock()
	if ok {
		wt.deliver(m)
	}
	return ok
}

// oneResponse keeps the first response.
type oneResponse chan *manscdp.Message

func (o oneResponse) deliver(m *manscdp.Message) {
	select {
	case o <- m:
	default: // a duplicate page or retransmission
	}
}

// Query sends a <Query> of cmdType to a device and waits for the first
// <Response> with the same CmdType and SN, bounded by ctx (or the query
// timeout when ctx has no deadline). build makes the body for an SN; nil
// builds the plain query about the device itself. Multi-page answers
// (Catalog, RecordInfo) need a collector: see Catalog.
func (s *Server) Query(ctx context.Context, deviceID DeviceID, cmdType string, build func(sn int) *manscdp.Node) (*manscdp.Message, error) {
	dev, _, err := s.reg.device(ctx, deviceID)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.QueryTimeout)
		defer cancel()
	}
	sn := s.nextSN()
	if build == nil {
		build = func(sn int) *manscdp.Node { return manscdp.Query(cmdType, sn, string(deviceID)) }
	}
	body, err := s.Marshal(dev, build(sn))
	if err != nil {
		return nil, err
	}
	k := waitKey{dev: deviceID, cmd: cmdType, sn: sn}
	ch := make(oneResponse, 1)
	s.wait.add(k, ch)
	defer s.wait.remove(k)
	if err := s.sendMessage(ctx, dev, body); err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		return m, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s query to %s: %w", cmdType, deviceID, ErrTimeout)
	}
}
