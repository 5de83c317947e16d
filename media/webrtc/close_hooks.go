package webrtc

import "sync"

// closeHooks runs OnClose callbacks once a peer (WHEP session, WHIP ingest,
// room subscriber) has ended; a callback added after that runs at once.
type closeHooks struct {
	mu     sync.Mutex
	fns    []func()
	closed bool
}

func (h *closeHooks) add(f func()) {
	h.mu.Lock()
	if !h.closed {
		h.fns = append(h.fns, f)
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	f()
}

// fire marks the peer ended and runs the callbacks, outside the lock.
func (h *closeHooks) fire() {
	h.mu.Lock()
	h.closed = true
	fns := h.fns
	h.fns = nil
	h.mu.Unlock()
	for _, f := range fns {
		f()
	}
}
