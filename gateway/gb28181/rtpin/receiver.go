// Package rtpin is the hub's media-receive side of a GB28181 session
// (GB/T 28181-2016 §9.2, annex C; gb28181.md §11, §13, §17): it takes media
// ports from a range, receives PS over RTP on UDP, on TCP as the listener
// (the device dials; "TCP passive") or as the dialler ("TCP active") with
// RFC 4571 framing, puts UDP packets back in order, checks the SSRC, and
// demuxes the program stream with media/ps into frames. It knows no SIP:
// the INVITE code in gateway/gb28181 puts Port() into its SDP offer and
// hands the device's answer to SetRemote / SetSSRC before Run.
//
// Imports: the standard library, github.com/pion/rtp and media/ps.
package rtpin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"pingan/media/ps"
)

// Mode is the media transport, named from the hub's side (gb28181.md §11).
type Mode string

// Transport modes; the values match the device setting in gateway/gb28181.
const (
	ModeUDP        Mode = "udp"         // the device sends datagrams to our port
	ModeTCPPassive Mode = "tcp-passive" // we listen, the device dials our port
	ModeTCPActive  Mode = "tcp-active"  // we dial the address in the device's answer
)

// Defaults for zero Config fields.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultReorderWindow = 64
	DefaultReorderDelay  = 100 * time.Millisecond
)

// Config describes one receiving session.
type Config struct {
	Mode Mode // "" means ModeUDP
	// IP is the local address to listen on or dial from; "" means all.
	IP string
	// Port is the local port. 0 takes one from Ports, or an ephemeral port
	// when Ports is nil. In TCP active mode the port is only reported (it
	// goes into the SDP offer); nothing listens on it.
	Port int
	// Ports, with Port 0, lends the port; Close gives it back.
	Ports *Ports
	// Remote is the device's media address host:port from its answer
	// (c=/m=); TCP active dials it. It may be set later with SetRemote.
	Remote string
	// AllowIP, when set, accepts packets and connections from this IP only
	// (the device's IP from its answer; some devices send from another IP,
	// so it is optional).
	AllowIP string
	// SSRC is the expected SSRC (the y= value); 0 accepts any. A device
	// that ignores y= and keeps sending another SSRC is logged with its
	// source address and accepted, unless StrictSSRC.
	SSRC       uint32
	StrictSSRC bool
	// Timeout ends Run with ErrMediaTimeout when no accepted packet arrived
	// for this long (including the wait for the first one); 0 means 10 s.
	Timeout time.Duration
	// ReorderWindow is how many UDP packets may wait behind a missing one
	// (rounded up to a power of two); 0 means 64.
	ReorderWindow int
	// ReorderDelay is how long they may wait; 0 means 100 ms.
	ReorderDelay time.Duration
	// OnFrame receives every frame, from Run's goroutine. Video frames
	// start at a keyframe and restart at one after a loss.
	OnFrame func(ps.Frame)
	Logger  *slog.Logger // nil discards
}

// Receiver receives one session's media. New binds its socket so Port is
// known before the INVITE goes out; Run receives until the context ends,
// Close is called, or the media times out.
type Receiver struct {
	cfg      Config
	log      *slog.Logger
	port     int
	acquired bool // port came from cfg.Ports
	pc       *net.UDPConn
	ln       *net.TCPListener
	stop     chan struct{}
	stopOnce sync.Once

	mu      sync.Mutex
	remote  string
	ssrc    uint32
	conn    net.Conn // the current TCP connection
	running bool

	in    intake
	stats stats
}

// New validates cfg, fills defaults and binds the local port.
func New(cfg Config) (*Receiver, error) {
	if cfg.Mode == "" {
		cfg.Mode = ModeUDP
	}
	if cfg.Mode != ModeUDP && cfg.Mode != ModeTCPPassive && cfg.Mode != ModeTCPActive {
		return nil, fmt.Errorf("rtpin: unknown mode %q", cfg.Mode)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ReorderWindow <= 0 {
		cfg.ReorderWindow = DefaultReorderWindow
	}
	if cfg.ReorderDelay <= 0 {
		cfg.ReorderDelay = DefaultReorderDelay
	}
	if cfg.OnFrame == nil {
		cfg.OnFrame = func(ps.Frame) {}
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{cfg: cfg, remote: cfg.Remote, ssrc: cfg.SSRC, stop: make(chan struct{})}
	if err := r.bind(); err != nil {
		return nil, err
	}
	r.log = lg.With("mode", string(cfg.Mode), "port", r.port)
	r.in = intake{r: r, waitKey: true}
	return r, nil
}

// Port is the local media port to put in the SDP offer's m= line.
func (r *Receiver) Port() int { return r.port }

// SetRemote sets the device's media address (its answer's c=/m=) before Run.
func (r *Receiver) SetRemote(addr string) {
	r.mu.Lock()
	r.remote = addr
	r.mu.Unlock()
}

// SetSSRC sets the expected SSRC before Run, e.g. from the answer's y=
// when it differs from the offer's (gb28181.md §11).
func (r *Receiver) SetSSRC(ssrc uint32) {
	r.mu.Lock()
	r.ssrc = ssrc
	r.mu.Unlock()
}

// Close stops Run, closes the sockets and returns a lent port. It is safe
// to call more than once and from any goroutine.
func (r *Receiver) Close() error {
	r.stopOnce.Do(func() {
		close(r.stop)
		r.closeSockets()
		if r.acquired {
			r.cfg.Ports.Release(r.port)
		}
	})
	return nil
}

// Run receives until ctx ends or Close is called (it returns nil then),
// or until no media arrived for Config.Timeout (ErrMediaTimeout). A
// Receiver runs once: when Run returns, the Receiver is closed (Stats
// stay readable).
func (r *Receiver) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running || r.isStopped() {
		r.mu.Unlock()
		return ErrClosed
	}
	r.running = true
	remote, ssrc := r.remote, r.ssrc
	r.mu.Unlock()
	r.in.expected = ssrc

	ctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { // unblock reads and accepts when asked to stop
		defer close(watched)
		select {
		case <-ctx.Done():
		case <-r.stop:
		}
		r.Close()
	}()
	defer func() {
		cancel()
		<-watched
	}()

	r.log.Info("media receiver started", "ssrc", ssrcString(ssrc), "remote", remote)
	var err error
	switch r.cfg.Mode {
	case ModeUDP:
		err = r.runUDP()
	case ModeTCPPassive:
		err = r.runTCP(r.accept)
	case ModeTCPActive:
		if remote == "" {
			return ErrNoRemote
		}
		err = r.runTCP(func(deadline time.Time) (net.Conn, error) { return r.dial(remote, deadline) })
	}
	if ctx.Err() != nil || r.isStopped() {
		err = nil
	}
	st := r.Stats()
	r.log.Info("media receiver stopped", "err", err, "packets", st.Packets, "frames", st.Frames,
		"lost", st.Lost, "late", st.Late, "wrong_ssrc", st.WrongSSRC, "garbage_bytes", st.Garbage)
	return err
}

func (r *Receiver) isStopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

func (r *Receiver) bind() error {
	if r.cfg.Mode == ModeTCPActive {
		r.port = r.cfg.Port
		if r.port == 0 && r.cfg.Ports != nil {
			p, err := r.cfg.Ports.Acquire()
			if err != nil {
				return err
			}
			r.port, r.acquired = p, true
		}
		return nil
	}
	lend := r.cfg.Port == 0 && r.cfg.Ports != nil
	for range 8 {
		port := r.cfg.Port
		if lend {
			p, err := r.cfg.Ports.Acquire()
			if err != nil {
				return err
			}
			port = p
		}
		err := r.listen(port)
		if err == nil {
			r.acquired = lend
			return nil
		}
		if !lend {
			return err
		}
		r.cfg.Ports.Release(port) // taken between Acquire's check and our bind: try the next
	}
	return ErrNoPorts
}

func (r *Receiver) listen(port int) error {
	addr := net.JoinHostPort(r.cfg.IP, strconv.Itoa(port))
	if r.cfg.Mode == ModeUDP {
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return fmt.Errorf("rtpin: %w", err)
		}
		pc, err := net.ListenUDP("udp", ua)
		if err != nil {
			return fmt.Errorf("rtpin: listen: %w", err)
		}
		_ = pc.SetReadBuffer(2 << 20) // a keyframe arrives as a burst of ~100 datagrams
		r.pc, r.port = pc, pc.LocalAddr().(*net.UDPAddr).Port
		return nil
	}
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return fmt.Errorf("rtpin: %w", err)
	}
	ln, err := net.ListenTCP("tcp", ta)
	if err != nil {
		return fmt.Errorf("rtpin: listen: %w", err)
	}
	r.ln, r.port = ln, ln.Addr().(*net.TCPAddr).Port
	return nil
}

func (r *Receiver) closeSockets() {
	if r.pc != nil {
		r.pc.Close()
	}
	if r.ln != nil {
		r.ln.Close()
	}
	r.mu.Lock()
	if r.conn != nil {
		r.conn.Close()
	}
	r.mu.Unlock()
}

// allowed applies the AllowIP filter.
func (r *Receiver) allowed(a netip.Addr) bool {
	if r.cfg.AllowIP == "" {
		return true
	}
	want, err := netip.ParseAddr(r.cfg.AllowIP)
	return err == nil && want.Unmap() == a.Unmap()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func ssrcString(v uint32) string { return fmt.Sprintf("%010d", v) }
