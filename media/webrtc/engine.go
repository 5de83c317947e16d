// Package webrtc sends hub streams to browsers with pion: one Engine owns the
// single ICE UDP port and the single ICE-TCP port every PeerConnection shares
// (DESIGN decision 4), and each WHEP session (RFC 9725 egress, draft-ietf-wish-whep)
// is one PeerConnection with its own MediaEngine, interceptor registry and API.
// It has no HTTP: signaling drives it. It imports media only.
package webrtc

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	pwebrtc "github.com/pion/webrtc/v4"
)

// Config configures an Engine. Zero fields take the defaults named beside them.
type Config struct {
	// UDPPort is the one UDP port for all ICE traffic (default 8189).
	// A negative value picks a free port (tests).
	UDPPort int
	// TCPPort is the one ICE-TCP port (default 8189; negative picks a free
	// port; 0 with DisableTCP leaves TCP off).
	TCPPort int
	// DisableTCP turns ICE-TCP off.
	DisableTCP bool
	// PublicIPs are the addresses browsers reach us at (NAT 1:1). Host
	// candidates of private addresses are replaced by them.
	PublicIPs []string
	// IncludeLoopback offers a loopback candidate (127.0.0.1, or ::1 on a
	// machine without IPv4 loopback). It is switched on by itself when the
	// machine has only loopback addresses or a public IP is loopback.
	IncludeLoopback bool
	// ListenIPs are the local addresses ICE binds and offers host candidates
	// for (before PublicIPs rewriting). Empty means every usable interface
	// address. Each session gathers exactly one UDP candidate (and one TCP
	// candidate) per address, and pion runs two goroutines and keeps an 8 KB
	// receive buffer per candidate, so listing only the addresses viewers
	// reach keeps sessions small.
	ListenIPs []string
	// BatchWrite wraps each UDP socket in pion's timer-flushed sendmmsg
	// queue (udp.BatchConn, Linux) instead of unit batching. Off by
	// default: it cost more CPU per packet at 10 viewers (a 1 ms flush
	// timer) and adds up to BatchInterval of delay.
	BatchWrite bool
	// SingleWrites turns off unit batching (sendbatch.go): every packet is
	// then its own sendto. Unit batching is also off with BatchWrite.
	SingleWrites bool
	// NoGSO keeps unit batching but sends every packet as its own
	// sendmmsg message (no UDP GSO runs; benchmarks). Without kernel GSO
	// support unit batching stands aside by itself.
	NoGSO bool
	// BatchSize and BatchInterval tune BatchWrite (defaults 64 and 1 ms).
	BatchSize     int
	BatchInterval time.Duration
	// ConnectTimeout ends a session whose ICE never connects (default 20 s).
	ConnectTimeout time.Duration
	// KeyframeInterval is the minimum time between keyframe requests a
	// session forwards to its reader (default 500 ms).
	KeyframeInterval time.Duration
	// Logger receives lifecycle logs (default slog.Default()).
	Logger *slog.Logger
	// WriteLatency, when set, records for every packet a WHEP session sends
	// the time from the unit's Stream.Write (Unit.Received) to the start of
	// the session's write of that unit (one clock read per unit; the unit's
	// packets follow within microseconds; benchmarks; nil costs nothing).
	WriteLatency *LatencyHistogram
}

func (c *Config) setDefaults() {
	if c.UDPPort == 0 {
		c.UDPPort = 8189
	}
	if c.TCPPort == 0 && !c.DisableTCP {
		c.TCPPort = 8189
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 64
	}
	if c.BatchInterval <= 0 {
		c.BatchInterval = time.Millisecond
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 20 * time.Second
	}
	if c.KeyframeInterval <= 0 {
		c.KeyframeInterval = 500 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// srtpProfiles are the SRTP protection profiles every PeerConnection offers,
// cheapest first. pion's default puts AEAD_AES_256_GCM first, and the DTLS
// server (the browser: the hub answers as DTLS client) picks by its own order,
// so the 256-bit suite is left out: AES-128-GCM costs 0.5-0.8 µs per 1,200-byte
// packet here, AES-256-GCM 0.7-1.3 µs and AES128_CM_HMAC_SHA1_80 4.4-6.3 µs
// (BenchmarkSRTPEncrypt). Chrome, Firefox and Safari support AES-128-GCM; the
// HMAC profile stays as the fallback RFC 5764 requires everyone to support.
var srtpProfiles = []dtls.SRTPProtectionProfile{
	dtls.SRTP_AEAD_AES_128_GCM,
	dtls.SRTP_AES128_CM_HMAC_SHA1_80,
}

// Engine owns the shared ICE sockets and the live sessions.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	se     pwebrtc.SettingEngine
	udpMux *ice.MultiUDPMuxDefault
	tcpMux ice.TCPMux
	tcpLn  net.Listener
	sends  *sendRegistry // unit batching; nil when off

	mu       sync.Mutex
	sessions map[string]*Session
	closed   bool
	wg       sync.WaitGroup
	peers    peerSet // WHIP ingests and room subscribers (peer_set.go)
}

// NewEngine opens the ICE UDP and TCP ports.
func NewEngine(cfg Config) (*Engine, error) {
	cfg.setDefaults()
	for _, ip := range cfg.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("webrtc: public ip %q: %w", ip, err)
		}
	}
	ips, err := iceAddrs(cfg)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, sessions: map[string]*Session{}}
	loopback := slices.ContainsFunc(ips, netip.Addr.IsLoopback)
	lf := slogFactory{log: cfg.Logger}

	std, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("webrtc: network: %w", err)
	}
	keep := func(ip net.IP) bool {
		a, ok := netip.AddrFromSlice(ip)
		return ok && slices.Contains(ips, a.Unmap())
	}
	if !cfg.BatchWrite && !cfg.SingleWrites {
		e.sends = &sendRegistry{}
	}
	e.udpMux, err = openUDPMux(cfg, std, e.sends, keep, loopback, lf)
	if err != nil {
		return nil, err
	}
	se := pwebrtc.SettingEngine{LoggerFactory: lf}
	se.SetICEUDPMux(e.udpMux)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(loopback)
	// The same address set for TCP candidates (the mux's filter covers UDP
	// only), and one shared Net: otherwise every session's agent lists the
	// machine's interfaces over netlink again.
	se.SetIPFilter(keep)
	se.SetInterfaceFilter(keepInterface)
	se.SetNet(std)
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	se.SetSRTPProtectionProfiles(srtpProfiles...)
	nets := []pwebrtc.NetworkType{pwebrtc.NetworkTypeUDP4, pwebrtc.NetworkTypeUDP6}
	if !cfg.DisableTCP {
		port := max(cfg.TCPPort, 0)
		e.tcpLn, err = net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
		if err != nil {
			_ = e.udpMux.Close()
			return nil, fmt.Errorf("webrtc: ice-tcp listen :%d: %w", port, err)
		}
		e.tcpMux = pwebrtc.NewICETCPMux(lf.NewLogger("ice-tcp"), e.tcpLn, 8)
		se.SetICETCPMux(e.tcpMux)
		nets = append(nets, pwebrtc.NetworkTypeTCP4, pwebrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(nets)
	if rules := rewriteRules(cfg.PublicIPs); len(rules) > 0 {
		if err := se.SetICEAddressRewriteRules(rules...); err != nil {
			e.closeSockets()
			return nil, fmt.Errorf("webrtc: public ips: %w", err)
		}
	}
	e.se = se
	e.log.Info("webrtc engine ready", "udp", e.UDPAddrs(), "tcp", e.TCPAddr(),
		"loopback", loopback, "batch_write", cfg.BatchWrite, "unit_batch", e.sends != nil, "public_ips", cfg.PublicIPs)
	return e, nil
}

// iceAddrs is the set of local addresses ICE listens on: Config.ListenIPs,
// or every usable interface address plus one loopback address when loopback
// is wanted (IncludeLoopback, a loopback-only machine, a loopback public IP).
func iceAddrs(cfg Config) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range cfg.ListenIPs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("webrtc: listen ip %q: %w", s, err)
		}
		out = append(out, a.Unmap())
	}
	if len(out) > 0 {
		return out, nil
	}
	local := localAddrs()
	var loop []netip.Addr
	for _, a := range local {
		if a.IsLoopback() {
			loop = append(loop, a)
		} else {
			out = append(out, a)
		}
	}
	if len(loop) > 0 && (cfg.IncludeLoopback || len(out) == 0 || anyLoopback(cfg.PublicIPs)) {
		// One loopback address is enough: every local client has 127.0.0.1.
		slices.SortFunc(loop, func(a, b netip.Addr) int { return cmp.Compare(a.BitLen(), b.BitLen()) })
		out = append(out, loop[0])
	}
	if len(out) == 0 {
		return nil, errors.New("webrtc: no usable local address")
	}
	return out, nil
}

// openUDPMux opens one socket per ICE address on the one port.
func openUDPMux(cfg Config, std transport.Net, sends *sendRegistry, keep func(net.IP) bool, loopback bool, lf logging.LoggerFactory) (*ice.MultiUDPMuxDefault, error) {
	port := cfg.UDPPort
	if port < 0 {
		p, err := freeUDPPort()
		if err != nil {
			return nil, err
		}
		port = p
	}
	opts := []ice.UDPMuxFromPortOption{
		ice.UDPMuxFromPortWithLogger(lf.NewLogger("ice-udp")),
		ice.UDPMuxFromPortWithInterfaceFilter(keepInterface),
		ice.UDPMuxFromPortWithIPFilter(keep),
		ice.UDPMuxFromPortWithReadBufferSize(4 << 20),
		ice.UDPMuxFromPortWithWriteBufferSize(4 << 20),
	}
	if loopback {
		opts = append(opts, ice.UDPMuxFromPortWithLoopback())
	}
	switch {
	case cfg.BatchWrite:
		opts = append(opts, ice.UDPMuxFromPortWithNet(&batchNet{Net: std, size: cfg.BatchSize, interval: cfg.BatchInterval}))
	case sends != nil:
		opts = append(opts, ice.UDPMuxFromPortWithNet(&unitNet{Net: std, reg: sends, gso: !cfg.NoGSO, mmsg: cfg.NoGSO}))
	default:
		opts = append(opts, ice.UDPMuxFromPortWithNet(std))
	}
	m, err := ice.NewMultiUDPMuxFromPort(port, opts...)
	if err != nil {
		return nil, fmt.Errorf("webrtc: ice udp port %d: %w", port, err)
	}
	if len(m.GetListenAddresses()) == 0 {
		_ = m.Close()
		return nil, fmt.Errorf("webrtc: ice udp port %d: no usable address", port)
	}
	return m, nil
}

// keepInterface drops container bridges and veth pairs, whose addresses no
// browser can reach.
func keepInterface(name string) bool {
	for _, p := range []string{"docker", "veth", "br-", "virbr", "cni", "flannel", "kube"} {
		if len(name) >= len(p) && name[:len(p)] == p {
			return false
		}
	}
	return true
}

// rewriteRules replaces every non-loopback host candidate address with the
// public IPs (host-replace rules; the loopback candidates stay as they are).
func rewriteRules(public []string) []pwebrtc.ICEAddressRewriteRule {
	var ext4, ext6 []string
	for _, s := range public {
		a, _ := netip.ParseAddr(s)
		switch {
		case a.IsLoopback():
		case a.Is4():
			ext4 = append(ext4, a.String())
		default:
			ext6 = append(ext6, a.String())
		}
	}
	var rules []pwebrtc.ICEAddressRewriteRule
	for _, ext := range []struct {
		ips  []string
		cidr string
	}{{ext4, "0.0.0.0/0"}, {ext6, "::/0"}} {
		if len(ext.ips) == 0 {
			continue
		}
		for _, local := range localAddrs() {
			if local.IsLoopback() || local.Is4() != (ext.cidr == "0.0.0.0/0") {
				continue
			}
			rules = append(rules, pwebrtc.ICEAddressRewriteRule{
				External:        ext.ips,
				Local:           local.String(),
				AsCandidateType: pwebrtc.ICECandidateTypeHost,
				Mode:            pwebrtc.ICEAddressRewriteReplace,
			})
		}
	}
	return rules
}

func localAddrs() []netip.Addr {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || !keepInterface(ifc.Name) {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if pn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(pn.IP); ok && !ip.Unmap().IsLinkLocalUnicast() {
					out = append(out, ip.Unmap())
				}
			}
		}
	}
	return out
}

func anyLoopback(ips []string) bool {
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil && a.IsLoopback() {
			return true
		}
	}
	return false
}

func freeUDPPort() (int, error) {
	for range 50 {
		l, err := net.ListenTCP("tcp", &net.TCPAddr{})
		if err != nil {
			return 0, fmt.Errorf("webrtc: pick port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		u, err := net.ListenUDP("udp", &net.UDPAddr{Port: p})
		if err == nil {
			_ = u.Close()
			return p, nil
		}
	}
	return 0, errors.New("webrtc: no free udp port")
}

// UDPAddrs lists the addresses of the ICE UDP sockets.
func (e *Engine) UDPAddrs() []string {
	var out []string
	for _, a := range e.udpMux.GetListenAddresses() {
		out = append(out, a.String())
	}
	return out
}

// TCPAddr is the ICE-TCP listener address ("" when TCP is off).
func (e *Engine) TCPAddr() string {
	if e.tcpLn == nil {
		return ""
	}
	return e.tcpLn.Addr().String()
}

// Sessions is the number of live sessions.
func (e *Engine) Sessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sessions)
}

// Session finds a live session by id.
func (e *Engine) Session(id string) (*Session, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sessions[id]
	return s, ok
}

func (e *Engine) add(s *Session) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	e.sessions[s.id] = s
	e.wg.Add(1)
	return nil
}

func (e *Engine) remove(s *Session) {
	e.mu.Lock()
	delete(e.sessions, s.id)
	e.mu.Unlock()
}

// Close ends every session, waits for their goroutines and closes the ports.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	live := make([]*Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		live = append(live, s)
	}
	e.mu.Unlock()
	for _, s := range live {
		s.Close()
	}
	e.peers.closeAll()
	e.wg.Wait()
	return e.closeSockets()
}

func (e *Engine) closeSockets() error {
	var errs []error
	if e.tcpMux != nil {
		errs = append(errs, e.tcpMux.Close())
	}
	errs = append(errs, e.udpMux.Close())
	return errors.Join(errs...)
}
