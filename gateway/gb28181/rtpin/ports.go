package rtpin

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
)

// Ports hands out media ports from a range such as 30000-30500 (the
// config's media.rtp_ports). A port is handed out only when both UDP and
// TCP can bind it at that moment, so one port serves any transport mode.
// It is safe for concurrent use.
type Ports struct {
	mu     sync.Mutex
	lo, hi int
	next   int
	used   map[int]bool
}

// NewPorts returns an allocator for the ports lo..hi inclusive.
func NewPorts(lo, hi int) (*Ports, error) {
	if lo <= 0 || hi > 65535 || lo > hi {
		return nil, fmt.Errorf("%w: %d-%d", ErrBadRange, lo, hi)
	}
	return &Ports{lo: lo, hi: hi, next: lo, used: map[int]bool{}}, nil
}

// ParsePorts reads a range written "lo-hi" (or a single port) and returns
// its allocator.
func ParsePorts(spec string) (*Ports, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: %q", ErrBadRange, spec)
	}
	return NewPorts(lo, hi)
}

// Acquire returns a port that is not handed out and that UDP and TCP can
// both bind right now, walking the range round-robin so a just-released
// port is not reused at once (late packets of the old session).
func (p *Ports) Acquire() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.hi - p.lo + 1
	for range n {
		port := p.next
		p.next++
		if p.next > p.hi {
			p.next = p.lo
		}
		if p.used[port] || !bindable(port) {
			continue
		}
		p.used[port] = true
		return port, nil
	}
	return 0, fmt.Errorf("%w %d-%d", ErrNoPorts, p.lo, p.hi)
}

// Release returns a port to the range. Releasing a port that was not
// acquired does nothing.
func (p *Ports) Release(port int) {
	p.mu.Lock()
	delete(p.used, port)
	p.mu.Unlock()
}

// InUse reports how many ports are handed out.
func (p *Ports) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.used)
}

// bindable reports whether UDP and TCP can both listen on port.
func bindable(port int) bool {
	addr := net.JoinHostPort("", strconv.Itoa(port))
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	defer u.Close()
	t, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	t.Close()
	return true
}
