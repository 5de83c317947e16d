// Package configs holds the hub's configuration: the Config struct, its
// built-in defaults, strict YAML loading, PINGAN_* environment overrides and
// validation. It imports nothing of ours.
//
// Loading happens once at start, in this order (see Load): Default() → YAML
// file (unknown keys are errors) → environment → Validate(). Every error names
// the YAML key it is about.
package configs

import (
	"time"
)

// Config is the whole hub configuration. The YAML keys are part of the
// product's interface; configs/pingan.example.yaml documents each of them.
type Config struct {
	// DataDir holds the bbolt store, recordings, the generated TLS certificate. Default ./data.
	DataDir string `yaml:"data_dir"`
	// Timezone is the command center's zone for case codes, deadlines and statistics. Default Asia/Shanghai.
	Timezone string            `yaml:"timezone"`
	Log      LogConfig         `yaml:"log"`
	HTTP     HTTPConfig        `yaml:"http"`
	Store    StoreConfig       `yaml:"store"`
	Auth     AuthConfig        `yaml:"auth"`
	SIP      SIPConfig         `yaml:"sip"`
	RTSP     RTSPConfig        `yaml:"rtsp"`
	WebRTC   WebRTCConfig      `yaml:"webrtc"`
	Media    MediaConfig       `yaml:"media"`
	Record   RecordConfig      `yaml:"record"`
	Sources  []Source          `yaml:"sources"`
	Aliases  map[string]string `yaml:"aliases"`
	Dispatch DispatchConfig    `yaml:"dispatch"`
}

// LogConfig selects the slog handler.
type LogConfig struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// HTTPConfig is the API, console, WHIP/WHEP and WebSocket listener.
type HTTPConfig struct {
	// Addr is the listen address. Default :8080.
	Addr string `yaml:"addr"`
	// TLS is "" (plain HTTP unless cert and key are set) or "auto" (self-signed certificate in data_dir).
	TLS     string `yaml:"tls"`
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// PublicURL is the console's address as users reach it, used in QR codes and join links. Default derived from addr.
	PublicURL string `yaml:"public_url"`
	// AllowedOrigins lists extra browser origins allowed on the WebSocket besides the hub's own.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxBodyBytes bounds request bodies. Default 1 MiB.
	MaxBodyBytes int64    `yaml:"max_body_bytes"`
	ReadTimeout  Duration `yaml:"read_timeout"`  // default 30s
	WriteTimeout Duration `yaml:"write_timeout"` // default 60s (0 keeps the default; long downloads use their own deadlines)
	IdleTimeout  Duration `yaml:"idle_timeout"`  // default 120s
	// ShutdownTimeout is how long in-flight requests may finish on SIGTERM. Default 15s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// StoreConfig chooses the durable store.
type StoreConfig struct {
	Redis RedisConfig `yaml:"redis"`
}

// RedisConfig switches the store to Redis when URL is set.
type RedisConfig struct {
	// URL is redis://[user:pass@]host:port/db. "" = embedded bbolt file under data_dir.
	URL string `yaml:"url"`
	// Timeout bounds every Redis call, dial included. Default 2s.
	Timeout Duration `yaml:"timeout"`
}

// AuthConfig configures users and tokens.
type AuthConfig struct {
	// AdminPassword is the bootstrap admin's password. "" = random on first start, printed once in the log.
	AdminPassword string `yaml:"admin_password"`
	// TokenTTL is how long a login token lives. Default 12h.
	TokenTTL Duration `yaml:"token_ttl"`
	// LoginMaxFailures failed logins per username or per source address within LoginWindow lock further attempts. Default 5.
	LoginMaxFailures int `yaml:"login_max_failures"`
	// LoginWindow is the throttling window. Default 15m.
	LoginWindow Duration `yaml:"login_window"`
}

// SIPConfig is the GB28181 SIP server.
type SIPConfig struct {
	// Addr is the UDP and TCP listen address. Default :5060.
	Addr string `yaml:"addr"`
	// IP is the address devices reach us at (SDP c=, Via). Default: first non-loopback address, else 127.0.0.1.
	IP string `yaml:"ip"`
	// ID is the platform's 20-digit GB28181 id. Default 34020000002000000001.
	ID string `yaml:"id"`
	// Domain is the SIP realm; default the first 10 digits of ID.
	Domain string `yaml:"domain"`
	// Password is the default device password (per-device passwords override it). Default "" (only per-device passwords).
	Password string `yaml:"password"`
	// RegisterExpires caps the registration lifetime we grant. Default 3600s.
	RegisterExpires Duration `yaml:"register_expires"`
	// KeepaliveInterval is the device heartbeat interval assumed when unknown. Default 60s.
	KeepaliveInterval Duration `yaml:"keepalive_interval"`
	// KeepaliveMissed is how many missed keepalives make a device offline. Default 3.
	KeepaliveMissed int `yaml:"keepalive_missed"`
	// CatalogTimeout ends a multi-part catalog gathering after this much silence. Default 5s.
	CatalogTimeout Duration `yaml:"catalog_timeout"`
}

// RTSPConfig is the RTSP server (publish in, read out).
type RTSPConfig struct {
	// Addr is the TCP listen address. Default :8554. "" disables the RTSP server.
	Addr string `yaml:"addr"`
	// UDPRTPAddr and UDPRTCPAddr enable UDP transport when both are set. Default "" (TCP only).
	UDPRTPAddr  string `yaml:"udp_rtp_addr"`
	UDPRTCPAddr string `yaml:"udp_rtcp_addr"`
}

// WebRTCConfig is the ICE/WebRTC listener.
type WebRTCConfig struct {
	// UDPPort carries every peer's ICE/UDP traffic. Default 8189.
	UDPPort int `yaml:"udp_port"`
	// TCPPort carries ICE-TCP. Default 8189. 0 keeps the default; -1 disables ICE-TCP.
	TCPPort int `yaml:"tcp_port"`
	// PublicIPs are announced instead of local addresses (NAT 1:1). Default none.
	PublicIPs []string `yaml:"public_ips"`
	// ListenIPs are the local addresses ICE uses and offers to browsers.
	// Default none = every usable interface address; listing only the
	// addresses browsers reach makes each viewer session smaller.
	ListenIPs []string `yaml:"listen_ips"`
}

// MediaConfig tunes the stream hub.
type MediaConfig struct {
	// IdleTimeout stops an on-demand source after this long without readers. Default 30s.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ReaderQueue is each reader's queue length in access units (power of two). Default 512.
	ReaderQueue int `yaml:"reader_queue"`
	// RTPPorts is the GB28181 media receive port range "low-high". Default 30000-30500.
	RTPPorts string `yaml:"rtp_ports"`
	// Transport is the default GB28181 media transport: udp, tcp-passive or tcp-active. Default tcp-passive.
	Transport string `yaml:"transport"`
	// MediaTimeout ends a GB28181 session that sends no media for this long. Default 15s.
	MediaTimeout Duration `yaml:"media_timeout"`
}

// RecordConfig controls the fMP4 recorder.
type RecordConfig struct {
	// Dir holds recordings. Default data_dir/recordings.
	Dir string `yaml:"dir"`
	// MinFreeMB stops recording when free disk space falls below it. Default 512.
	MinFreeMB int64 `yaml:"min_free_mb"`
}

// Source is an RTSP pull source; its stream id is rtsp/{name}.
type Source struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Transport is tcp, udp or "" (try UDP, fall back to TCP).
	Transport string `yaml:"transport"`
}

// DispatchConfig configures cases.
type DispatchConfig struct {
	CaseTypes []CaseType `yaml:"case_types"`
	// YellowShare: a case turns yellow when less than this share of the stage limit is left. Default 1/3.
	YellowShare float64 `yaml:"yellow_share"`
	// WorkingDays, when true, counts limits of 24h or more in working days (Monday–Friday, minus Holidays).
	WorkingDays bool `yaml:"working_days"`
	// Holidays are dates (YYYY-MM-DD) that are not working days.
	Holidays []string `yaml:"holidays"`
	// Hotline configures 12345 intake.
	Hotline HotlineConfig `yaml:"hotline"`
	// EventRetention is how long entries stay in the global event log that
	// consoles resume from after a reconnect (case timelines keep their own
	// history). Default 2160h (90 days); 0 keeps every entry.
	EventRetention Duration `yaml:"event_retention"`
}

// HotlineConfig is the 12345 work-order intake.
type HotlineConfig struct {
	// Secret signs intake requests (HMAC-SHA256). "" disables hotline intake.
	Secret string `yaml:"secret"`
	// ReplayWindow is how far a request's timestamp may be from now. Default 5m.
	ReplayWindow Duration `yaml:"replay_window"`
	// Region receives work orders that carry no region. Default "".
	Region string `yaml:"region"`
}

// CaseType is one kind of case with its per-stage time limits.
type CaseType struct {
	ID     string              `yaml:"id"`
	Name   string              `yaml:"name"`
	Limits map[string]Duration `yaml:"limits"`
}

// Default returns the built-in configuration; the example file must load equal to it.
func Default() Config {
	return Config{
		DataDir:  "./data",
		Timezone: "Asia/Shanghai",
		Log:      LogConfig{Level: "info", Format: "text"},
		HTTP: HTTPConfig{
			Addr:            ":8080",
			MaxBodyBytes:    1 << 20,
			ReadTimeout:     Duration(30 * time.Second),
			WriteTimeout:    Duration(60 * time.Second),
			IdleTimeout:     Duration(120 * time.Second),
			ShutdownTimeout: Duration(15 * time.Second),
		},
		Store: StoreConfig{Redis: RedisConfig{Timeout: Duration(2 * time.Second)}},
		Auth: AuthConfig{
			TokenTTL:         Duration(12 * time.Hour),
			LoginMaxFailures: 5,
			LoginWindow:      Duration(15 * time.Minute),
		},
		SIP: SIPConfig{
			Addr:              ":5060",
			ID:                "34020000002000000001",
			RegisterExpires:   Duration(3600 * time.Second),
			KeepaliveInterval: Duration(60 * time.Second),
			KeepaliveMissed:   3,
			CatalogTimeout:    Duration(5 * time.Second),
		},
		RTSP:   RTSPConfig{Addr: ":8554"},
		WebRTC: WebRTCConfig{UDPPort: 8189, TCPPort: 8189},
		Media: MediaConfig{
			IdleTimeout:  Duration(30 * time.Second),
			ReaderQueue:  512,
			RTPPorts:     "30000-30500",
			Transport:    "tcp-passive",
			MediaTimeout: Duration(15 * time.Second),
		},
		Record: RecordConfig{MinFreeMB: 512},
		Dispatch: DispatchConfig{
			YellowShare:    1.0 / 3,
			EventRetention: Duration(90 * 24 * time.Hour),
			Hotline:        HotlineConfig{ReplayWindow: Duration(5 * time.Minute)},
			CaseTypes:      DefaultCaseTypes(),
		},
	}
}

// DefaultCaseTypes are the case types a fresh hub knows.
func DefaultCaseTypes() []CaseType {
	h := func(n int) Duration { return Duration(time.Duration(n) * time.Hour) }
	return []CaseType{
		{ID: "dispute", Name: "矛盾纠纷", Limits: map[string]Duration{"accept": h(2), "route": h(4), "checkin": h(2), "handle": h(72), "report": h(24), "followup": h(72)}},
		{ID: "hazard", Name: "安全隐患", Limits: map[string]Duration{"accept": h(1), "route": h(2), "checkin": h(1), "handle": h(24), "report": h(12), "followup": h(48)}},
		{ID: "petition", Name: "信访诉求", Limits: map[string]Duration{"accept": h(24), "route": h(24), "checkin": h(8), "handle": h(240), "report": h(48), "followup": h(120)}},
		{ID: "consult", Name: "政策咨询", Limits: map[string]Duration{"accept": h(4), "route": h(8), "checkin": h(4), "handle": h(48), "report": h(24), "followup": h(72)}},
	}
}
