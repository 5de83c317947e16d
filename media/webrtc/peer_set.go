package webrtc

import (
	"sync"

	"github.com/pion/interceptor"
	pwebrtc "github.com/pion/webrtc/v4"
)

// closer is a live peer the engine must end when it closes: a WHIP ingest
// or a room subscriber.
type closer interface{ Close() }

// peerSet tracks the engine's non-WHEP peers so Engine.Close ends them too.
type peerSet struct {
	mu     sync.Mutex
	live   map[closer]struct{}
	closed bool
}

func (p *peerSet) add(c closer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.live == nil {
		p.live = map[closer]struct{}{}
	}
	p.live[c] = struct{}{}
	return nil
}

func (p *peerSet) remove(c closer) {
	p.mu.Lock()
	delete(p.live, c)
	p.mu.Unlock()
}

// closeAll ends every peer (each Close waits for its goroutines).
func (p *peerSet) closeAll() {
	p.mu.Lock()
	p.closed = true
	all := make([]closer, 0, len(p.live))
	for c := range p.live {
		all = append(all, c)
	}
	p.mu.Unlock()
	for _, c := range all {
		c.Close()
	}
}

// Peers is the number of live WHIP ingests and room subscribers.
func (e *Engine) Peers() int {
	e.peers.mu.Lock()
	defer e.peers.mu.Unlock()
	return len(e.peers.live)
}

// newAPI builds a pion API on the engine's shared ICE sockets with its own
// media engine and interceptors (STYLE §5.7).
func (e *Engine) newAPI(m *pwebrtc.MediaEngine, ir *interceptor.Registry) *pwebrtc.API {
	return pwebrtc.NewAPI(pwebrtc.WithSettingEngine(e.se), pwebrtc.WithMediaEngine(m), pwebrtc.WithInterceptorRegistry(ir))
}
