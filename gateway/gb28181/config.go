package gb28181

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"pingan/configs"
)

// Clock tells the time. Liveness sweeps, nonce expiry and the Date header use
// it, so tests can move time without sleeping.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config configures a Server. Zero fields take the default named in their comment.
type Config struct {
	// SIP is the sip: section (addr, ip, id, domain, password, expiries,
	// keepalive interval and missed count, catalog timeout).
	SIP configs.SIPConfig
	// MediaTransport is the media transport given to new devices:
	// udp, tcp-passive or tcp-active (media.transport). Default tcp-passive.
	MediaTransport string
	// Qop adds qop="auth" to digest challenges. Default false: some old
	// devices fail to register when it is offered (GB/T 28181 §3 digest).
	Qop bool
	// NonceTTL is how long an issued nonce may be answered. Default 5m.
	NonceTTL time.Duration
	// KeepaliveRevives lets a keepalive mark a known, offline device online
	// again (devices that never re-register after a platform restart).
	// Default false: such a keepalive is answered 200 and otherwise ignored.
	KeepaliveRevives bool
	// AuthFailLimit failed digests from one source IP within AuthFailWindow
	// make further REGISTERs from it answered 503 until the window passes.
	// Defaults 5 and 1m.
	AuthFailLimit  int
	AuthFailWindow time.Duration
	// QueryTimeout bounds Query when ctx has no deadline. Default 5s.
	QueryTimeout time.Duration
	// SubscribeExpires is the catalog subscription lifetime. Default 1h;
	// negative disables catalog subscriptions.
	SubscribeExpires time.Duration
	// SweepInterval is how often liveness deadlines are checked. Default 1s.
	SweepInterval time.Duration
	// Location is the zone of the Date header devices set their clocks
	// from (timezone). Default time.Local.
	Location *time.Location
	// Charset is the outgoing MANSCDP body charset for devices without their
	// own setting: GB2312 (encoded as GB18030) or UTF-8. Default GB2312.
	Charset string
	// UserAgent is sent in User-Agent and Server headers. Default "Pingan Hub".
	UserAgent string
	// Clock is the time source. Default the system clock.
	Clock Clock

	// Live play (play.go).

	// RTPPorts is the media receive port range "lo-hi" (media.rtp_ports).
	// Default 30000-30500.
	RTPPorts string
	// MediaTimeout ends a play session that received no media for this long
	// (media.media_timeout); the hub then re-INVITEs. Default 15s.
	MediaTimeout time.Duration
	// InviteTimeout bounds the wait for the final answer to an INVITE;
	// then it is cancelled (digest §11: ~10 s). Default 10s.
	InviteTimeout time.Duration
	// OfflineWait is how long a play waits for the channel's device to come
	// online (a hub restart, a device re-registering) before failing and
	// letting the media hub retry. Default 5s.
	OfflineWait time.Duration
	// KeyframeInterval rate-limits IFameCmd requests per session. Default 2s.
	KeyframeInterval time.Duration
}

// withDefaults fills zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	s := &c.SIP
	if s.Addr == "" {
		s.Addr = ":5060"
	}
	if s.ID == "" {
		s.ID = "34020000002000000001"
	}
	if _, err := ParseDeviceID(s.ID); err != nil {
		return c, fmt.Errorf("sip.id: %w", err)
	}
	if s.Domain == "" {
		s.Domain = s.ID[:10]
	}
	if s.IP == "" {
		s.IP = defaultIP(s.Addr)
	}
	if net.ParseIP(s.IP) == nil {
		return c, fmt.Errorf("sip.ip: want an IP address, got %q", s.IP)
	}
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		return c, fmt.Errorf("sip.addr: %w", err)
	}
	setDur((*time.Duration)(&s.RegisterExpires), time.Hour)
	setDur((*time.Duration)(&s.KeepaliveInterval), time.Minute)
	setDur((*time.Duration)(&s.CatalogTimeout), 5*time.Second)
	if s.KeepaliveMissed <= 0 {
		s.KeepaliveMissed = 3
	}
	if c.MediaTransport == "" {
		c.MediaTransport = "tcp-passive"
	}
	if !slices.Contains(configs.Transports, c.MediaTransport) {
		return c, fmt.Errorf("media.transport: want one of %v, got %q", configs.Transports, c.MediaTransport)
	}
	setDur(&c.NonceTTL, 5*time.Minute)
	setDur(&c.AuthFailWindow, time.Minute)
	if c.AuthFailLimit <= 0 {
		c.AuthFailLimit = 5
	}
	setDur(&c.QueryTimeout, 5*time.Second)
	setDur(&c.SubscribeExpires, time.Hour)
	setDur(&c.SweepInterval, time.Second)
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.Charset == "" {
		c.Charset = "GB2312"
	}
	if c.UserAgent == "" {
		c.UserAgent = "Pingan Hub"
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.RTPPorts == "" {
		c.RTPPorts = "30000-30500"
	}
	setDur(&c.MediaTimeout, 15*time.Second)
	setDur(&c.InviteTimeout, 10*time.Second)
	setDur(&c.OfflineWait, 5*time.Second)
	setDur(&c.KeyframeInterval, 2*time.Second)
	return c, nil
}

func setDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// defaultIP picks the address devices reach us at when sip.ip is empty: the
// listen host if it is a specific IP, else the first non-loopback IPv4, else
// 127.0.0.1. gosip needs an IP literal here (a hostname panics).
func defaultIP(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
			return ip.String()
		}
	}
	ifaddrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range ifaddrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// listenPort returns the port of sip.addr.
func (c Config) listenPort() string {
	_, p, _ := net.SplitHostPort(c.SIP.Addr)
	return p
}

// isUTF8Charset reports whether a charset name means UTF-8.
func isUTF8Charset(cs string) bool {
	cs = strings.ToLower(strings.ReplaceAll(cs, "-", ""))
	return cs == "utf8"
}
