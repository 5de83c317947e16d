package configs

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones work on machines without tzdata
)

// Stages are the workflow stages a case type may limit.
var Stages = []string{"accept", "route", "checkin", "handle", "report", "followup"}

// Transports are the GB28181 media transports.
var Transports = []string{"udp", "tcp-passive", "tcp-active"}

var (
	reID20    = regexp.MustCompile(`^[0-9]{20}$`)
	reDigits  = regexp.MustCompile(`^[0-9]+$`)
	reName    = regexp.MustCompile(`^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$`)
	reTypeID  = regexp.MustCompile(`^[a-z0-9_\-]{1,32}$`)
	reRegion  = regexp.MustCompile(`^[0-9]{2}([0-9]{2}){0,2}([0-9]{3})?$`)
	errorJoin = errors.Join
)

// Normalize fills values derived from others (sip.domain from sip.id,
// record.dir from data_dir). Load calls it before Validate.
func (c *Config) Normalize() {
	if c.SIP.Domain == "" && len(c.SIP.ID) >= 10 {
		c.SIP.Domain = c.SIP.ID[:10]
	}
	// Empty lists and maps are the same as absent ones.
	if len(c.HTTP.AllowedOrigins) == 0 {
		c.HTTP.AllowedOrigins = nil
	}
	if len(c.WebRTC.PublicIPs) == 0 {
		c.WebRTC.PublicIPs = nil
	}
	if len(c.WebRTC.ListenIPs) == 0 {
		c.WebRTC.ListenIPs = nil
	}
	if len(c.Sources) == 0 {
		c.Sources = nil
	}
	if len(c.Aliases) == 0 {
		c.Aliases = nil
	}
	if len(c.Dispatch.Holidays) == 0 {
		c.Dispatch.Holidays = nil
	}
	if c.Record.Dir == "" {
		c.Record.Dir = strings.TrimSuffix(c.DataDir, "/") + "/recordings"
	}
}

// Validate checks every key and returns all problems, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", "must not be empty")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" {
		bad("timezone", "unknown time zone %q", c.Timezone)
	}
	oneOf(bad, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(bad, "log.format", c.Log.Format, "text", "json")
	c.validateHTTP(bad)
	if u := c.Store.Redis.URL; u != "" {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "redis" && p.Scheme != "rediss" && p.Scheme != "unix") {
			bad("store.redis.url", "want redis://host:port[/db], got %q", u)
		}
	}
	positive(bad, "store.redis.timeout", c.Store.Redis.Timeout)
	if c.Auth.TokenTTL.D() < time.Minute {
		bad("auth.token_ttl", "must be at least 1m, got %s", c.Auth.TokenTTL)
	}
	if c.Auth.LoginMaxFailures < 1 {
		bad("auth.login_max_failures", "must be at least 1")
	}
	positive(bad, "auth.login_window", c.Auth.LoginWindow)
	if c.Auth.AdminPassword != "" && len(c.Auth.AdminPassword) < 8 {
		bad("auth.admin_password", "must be at least 8 characters")
	}
	c.validateSIP(bad)
	if c.RTSP.Addr != "" {
		hostPort(bad, "rtsp.addr", c.RTSP.Addr)
	}
	if (c.RTSP.UDPRTPAddr == "") != (c.RTSP.UDPRTCPAddr == "") {
		bad("rtsp.udp_rtp_addr", "set together with rtsp.udp_rtcp_addr, or neither")
	}
	c.validateWebRTC(bad)
	c.validateMedia(bad)
	c.validateSources(bad)
	c.validateDispatch(bad)
	return errorJoin(errs...)
}

type badFunc func(key, format string, args ...any)

func oneOf(bad badFunc, key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	bad(key, "want one of %s, got %q", strings.Join(allowed, ", "), v)
}

func positive(bad badFunc, key string, d Duration) {
	if d <= 0 {
		bad(key, "must be a positive duration, got %s", d)
	}
}

func hostPort(bad badFunc, key, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		bad(key, "want host:port, got %q", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad(key, "bad port %q", port)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		bad(key, "host must be an IP address or empty, got %q", host)
	}
}

func (c *Config) validateHTTP(bad badFunc) {
	hostPort(bad, "http.addr", c.HTTP.Addr)
	oneOf(bad, "http.tls", c.HTTP.TLS, "", "auto")
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		bad("http.tls_cert", "set together with http.tls_key")
	}
	if c.HTTP.TLS == "auto" && c.HTTP.TLSCert != "" {
		bad("http.tls", "auto conflicts with http.tls_cert")
	}
	if c.HTTP.PublicURL != "" {
		if u, err := url.Parse(c.HTTP.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("http.public_url", "want http(s)://host[:port], got %q", c.HTTP.PublicURL)
		}
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		bad("http.max_body_bytes", "must be at least 1024")
	}
	positive(bad, "http.read_timeout", c.HTTP.ReadTimeout)
	positive(bad, "http.write_timeout", c.HTTP.WriteTimeout)
	positive(bad, "http.idle_timeout", c.HTTP.IdleTimeout)
	positive(bad, "http.shutdown_timeout", c.HTTP.ShutdownTimeout)
}

func (c *Config) validateSIP(bad badFunc) {
	hostPort(bad, "sip.addr", c.SIP.Addr)
	if c.SIP.IP != "" && net.ParseIP(c.SIP.IP) == nil {
		bad("sip.ip", "want an IP address, got %q", c.SIP.IP)
	}
	if !reID20.MatchString(c.SIP.ID) {
		bad("sip.id", "want 20 digits, got %q", c.SIP.ID)
	}
	if !reDigits.MatchString(c.SIP.Domain) {
		bad("sip.domain", "want digits (usually the first 10 of sip.id), got %q", c.SIP.Domain)
	}
	if c.SIP.RegisterExpires.D() < 30*time.Second {
		bad("sip.register_expires", "must be at least 30s")
	}
	positive(bad, "sip.keepalive_interval", c.SIP.KeepaliveInterval)
	if c.SIP.KeepaliveMissed < 1 {
		bad("sip.keepalive_missed", "must be at least 1")
	}
	positive(bad, "sip.catalog_timeout", c.SIP.CatalogTimeout)
}

func (c *Config) validateWebRTC(bad badFunc) {
	if c.WebRTC.UDPPort < 1 || c.WebRTC.UDPPort > 65535 {
		bad("webrtc.udp_port", "want 1-65535, got %d", c.WebRTC.UDPPort)
	}
	if c.WebRTC.TCPPort != -1 && (c.WebRTC.TCPPort < 1 || c.WebRTC.TCPPort > 65535) {
		bad("webrtc.tcp_port", "want 1-65535 or -1 (off), got %d", c.WebRTC.TCPPort)
	}
	for i, ip := range c.WebRTC.PublicIPs {
		if net.ParseIP(ip) == nil {
			bad(fmt.Sprintf("webrtc.public_ips[%d]", i), "want an IP address, got %q", ip)
		}
	}
	for i, ip := range c.WebRTC.ListenIPs {
		if net.ParseIP(ip) == nil {
			bad(fmt.Sprintf("webrtc.listen_ips[%d]", i), "want an IP address, got %q", ip)
		}
	}
}

// RTPPortRange returns media.rtp_ports as numbers.
func (c *Config) RTPPortRange() (lo, hi int, err error) {
	a, b, ok := strings.Cut(c.Media.RTPPorts, "-")
	if !ok {
		return 0, 0, fmt.Errorf("want low-high, got %q", c.Media.RTPPorts)
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("want low-high within 1-65535, got %q", c.Media.RTPPorts)
	}
	return lo, hi, nil
}

func (c *Config) validateMedia(bad badFunc) {
	positive(bad, "media.idle_timeout", c.Media.IdleTimeout)
	positive(bad, "media.media_timeout", c.Media.MediaTimeout)
	if q := c.Media.ReaderQueue; q < 16 || q&(q-1) != 0 {
		bad("media.reader_queue", "want a power of two of at least 16, got %d", q)
	}
	if _, _, err := c.RTPPortRange(); err != nil {
		bad("media.rtp_ports", "%v", err)
	}
	oneOf(bad, "media.transport", c.Media.Transport, Transports...)
	if c.Record.MinFreeMB < 0 {
		bad("record.min_free_mb", "must not be negative")
	}
}

func (c *Config) validateSources(bad badFunc) {
	seen := map[string]bool{}
	for i, s := range c.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		if !reName.MatchString(s.Name) {
			bad(key+".name", "want letters, digits, _ . - and /, got %q", s.Name)
		} else if seen[s.Name] {
			bad(key+".name", "duplicate source %q", s.Name)
		}
		seen[s.Name] = true
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
			bad(key+".url", "want rtsp://host[:port]/path, got %q", s.URL)
		}
		oneOf(bad, key+".transport", s.Transport, "", "tcp", "udp")
	}
	for name, target := range c.Aliases {
		if !reName.MatchString(name) {
			bad("aliases."+name, "bad alias name")
		}
		if !reName.MatchString(target) {
			bad("aliases."+name, "bad stream id %q", target)
		}
	}
}

func (c *Config) validateDispatch(bad badFunc) {
	d := &c.Dispatch
	if len(d.CaseTypes) == 0 {
		bad("dispatch.case_types", "at least one case type is needed")
	}
	seen := map[string]bool{}
	for i, t := range d.CaseTypes {
		key := fmt.Sprintf("dispatch.case_types[%d]", i)
		if !reTypeID.MatchString(t.ID) {
			bad(key+".id", "want 1-32 of a-z 0-9 _ -, got %q", t.ID)
		} else if seen[t.ID] {
			bad(key+".id", "duplicate case type %q", t.ID)
		}
		seen[t.ID] = true
		if strings.TrimSpace(t.Name) == "" {
			bad(key+".name", "must not be empty")
		}
		for stage, lim := range t.Limits {
			if !isStage(stage) {
				bad(key+".limits."+stage, "unknown stage; want one of %s", strings.Join(Stages, ", "))
			} else if lim <= 0 {
				bad(key+".limits."+stage, "must be a positive duration")
			}
		}
	}
	if d.EventRetention < 0 || (d.EventRetention > 0 && d.EventRetention < Duration(time.Hour)) {
		bad("dispatch.event_retention", "want 0 (keep forever) or at least 1h, got %v", time.Duration(d.EventRetention))
	}
	if d.YellowShare <= 0 || d.YellowShare >= 1 {
		bad("dispatch.yellow_share", "want a share between 0 and 1, got %v", d.YellowShare)
	}
	for i, h := range d.Holidays {
		if _, err := time.Parse("2006-01-02", h); err != nil {
			bad(fmt.Sprintf("dispatch.holidays[%d]", i), "want YYYY-MM-DD, got %q", h)
		}
	}
	positive(bad, "dispatch.hotline.replay_window", d.Hotline.ReplayWindow)
	if r := d.Hotline.Region; r != "" && !reRegion.MatchString(r) {
		bad("dispatch.hotline.region", "want a GB/T 2260 code, got %q", r)
	}
}

func isStage(s string) bool {
	for _, st := range Stages {
		if s == st {
			return true
		}
	}
	return false
}
