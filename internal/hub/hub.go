// Package hub wires the parts of Pingan Hub together in dependency order:
// config → store → auth → media → gateways → dispatch → signaling → web.
// New validates and allocates; Run starts everything, blocks until ctx ends,
// then stops the parts in reverse order. cmd/pingan and the end-to-end tests
// use it.
package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"pingan/configs"
	"pingan/dispatch"
	"pingan/gateway/gb28181"
	"pingan/gateway/rtsp"
	"pingan/internal/auth"
	"pingan/internal/store"
	boltstore "pingan/internal/store/bolt"
	redisstore "pingan/internal/store/redis"
	"pingan/media"
	"pingan/media/webrtc"
	"pingan/signaling"
)

// Version is set at build time with -ldflags "-X pingan/internal/hub.Version=…".
var Version = "dev"

// Options are the command-line choices that are not configuration keys.
type Options struct {
	// Demo adds simulated cameras streaming the shipped sample.
	Demo bool
	// Logger receives the hub's logs; nil builds one from cfg.Log on stderr.
	Logger *slog.Logger
	// LogOutput is where the built logger writes (default stderr).
	LogOutput io.Writer
}

// Hub is one running Pingan Hub.
type Hub struct {
	cfg  configs.Config
	opts Options
	log  *slog.Logger
	loc  *time.Location

	store  store.Store
	auth   *auth.Service
	media  *media.Hub
	gb     *gb28181.Server
	rtc    *webrtc.Engine
	access *streamAccess
	ws     *signaling.WSHub

	dispatch *dispatch.Service

	recordings *signaling.RecordingsAPI
	web        *httpServer

	// runners are the long-running parts, started by Run in this order.
	runners []runner

	closers []func() error // in creation order; closed in reverse
	wg      sync.WaitGroup
}

// New validates cfg, opens the store and builds every part. Nothing listens
// until Run.
func New(ctx context.Context, cfg configs.Config, opts Options) (*Hub, error) {
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Hub{cfg: cfg, opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = NewLogger(cfg.Log, opts.LogOutput)
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	h.loc = loc
	if err := h.build(ctx); err != nil {
		h.closeAll()
		return nil, err
	}
	return h, nil
}

func (h *Hub) build(ctx context.Context) error {
	if err := os.MkdirAll(h.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	redisstore.SetLogger(h.log)
	st, err := openStore(ctx, h.cfg)
	if err != nil {
		return err
	}
	h.store = st
	h.closers = append(h.closers, st.Close)

	h.auth, err = auth.New(st, h.cfg.Auth, h.log.With("part", "auth"))
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	generated, err := h.auth.EnsureAdmin(ctx, h.cfg.Auth.AdminPassword)
	if err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	if generated != "" {
		h.log.Warn("created the bootstrap admin; this password is shown only once", "username", "admin", "password", generated)
	}
	h.media = media.NewHub(media.Config{
		IdleTimeout: h.cfg.Media.IdleTimeout.D(),
		ReaderQueue: h.cfg.Media.ReaderQueue,
		Logger:      h.log.With("part", "media"),
	})
	h.addRunner("media", h.media.Run)
	h.access = newStreamAccess(h.cfg.Aliases)
	for name, target := range h.cfg.Aliases {
		h.media.Alias(media.StreamID(name), media.StreamID(target))
	}
	if h.opts.Demo {
		h.addRunner("demo", h.runDemo)
	}
	if err := h.buildRTSP(); err != nil {
		return err
	}
	h.gb, err = gb28181.New(gb28181.Config{
		SIP: h.cfg.SIP, MediaTransport: h.cfg.Media.Transport, Location: h.loc,
		RTPPorts: h.cfg.Media.RTPPorts, MediaTimeout: h.cfg.Media.MediaTimeout.D(),
	}, h.store, h.log.With("part", "gb28181"))
	if err != nil {
		return fmt.Errorf("gb28181: %w", err)
	}
	h.media.RegisterSource(gb28181.StreamPrefix, h.gb.SourceFactory())
	h.addRunner("gb28181", h.gb.Run)
	h.access.channelRegion = func(ch string) (string, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, _, err := h.gb.Channel(ctx, gb28181.DeviceID(ch))
		return c.Region, err == nil
	}
	h.rtc, err = webrtc.NewEngine(webrtc.Config{
		UDPPort:    h.cfg.WebRTC.UDPPort,
		TCPPort:    h.cfg.WebRTC.TCPPort,
		DisableTCP: h.cfg.WebRTC.TCPPort == -1,
		PublicIPs:  h.cfg.WebRTC.PublicIPs,
		ListenIPs:  h.cfg.WebRTC.ListenIPs,
		Logger:     h.log.With("part", "webrtc"),
	})
	if err != nil {
		return fmt.Errorf("webrtc: %w", err)
	}
	h.closers = append(h.closers, h.rtc.Close)
	if err := h.buildRecordings(); err != nil {
		return err
	}
	if h.dispatch, err = h.buildDispatch(ctx); err != nil {
		return err
	}
	if keep := time.Duration(h.cfg.Dispatch.EventRetention); keep > 0 {
		t := &logTrimmer{st: h.store, log: eventLog, keep: keep, now: time.Now, lg: h.log.With("part", "retention")}
		h.addRunner("retention", t.run)
	}
	h.ws = signaling.NewWSHub(signaling.NewDispatchEventLog(h.dispatch), h.cfg.HTTP.AllowedOrigins, h.log.With("part", "ws"))
	h.addRunner("ws", h.ws.Run)
	h.addRunner("live-topics", h.runLiveTopics)
	h.web, err = newHTTPServer(h)
	if err != nil {
		return err
	}
	return nil
}

func (h *Hub) buildRTSP() error {
	h.media.RegisterSource(rtsp.SourcePrefix, rtsp.NewPuller(h.cfg.Sources, h.log.With("part", "rtsp-pull")).Factory())
	if h.cfg.RTSP.Addr == "" {
		return nil
	}
	srv, err := rtsp.NewServer(rtsp.ServerConfig{
		Addr:        h.cfg.RTSP.Addr,
		UDPRTPAddr:  h.cfg.RTSP.UDPRTPAddr,
		UDPRTCPAddr: h.cfg.RTSP.UDPRTCPAddr,
		Hub:         h.media,
		Auth:        rtspAuth{auth: h.auth, access: h.access},
		Logger:      h.log.With("part", "rtsp"),
	})
	if err != nil {
		return fmt.Errorf("rtsp: %w", err)
	}
	h.addRunner("rtsp", srv.Run)
	return nil
}

func openStore(ctx context.Context, cfg configs.Config) (store.Store, error) {
	if cfg.Store.Redis.URL != "" {
		st, err := redisstore.Open(ctx, cfg.Store.Redis.URL, cfg.Store.Redis.Timeout.D())
		if err != nil {
			return nil, fmt.Errorf("store.redis.url: %w", err)
		}
		return st, nil
	}
	st, err := boltstore.Open(filepath.Join(cfg.DataDir, "pingan.db"))
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	return st, nil
}

// runner is a long-running part: it blocks until ctx ends.
type runner struct {
	name string
	run  func(ctx context.Context) error
}

func (h *Hub) addRunner(name string, run func(ctx context.Context) error) {
	h.runners = append(h.runners, runner{name, run})
}

// Run serves until ctx ends, then shuts down gracefully: in-flight HTTP
// requests finish (up to http.shutdown_timeout), parts stop in reverse order
// and the store is closed. It returns after every goroutine it started exited.
func (h *Hub) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	all := append(h.runners, runner{"http", h.web.run})
	errc := make(chan error, len(all))
	for _, r := range all {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			if err := r.run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				h.log.Error("part failed; stopping the hub", "part", r.name, "err", err)
				errc <- fmt.Errorf("%s: %w", r.name, err)
				cancel()
			}
		}()
	}
	h.log.Info("pingan hub running", "version", Version, "http", h.web.addr(), "store", h.storeKind(), "demo", h.opts.Demo)
	<-ctx.Done()
	h.wg.Wait()
	h.closeAll()
	h.log.Info("pingan hub stopped")
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func (h *Hub) storeKind() string {
	if h.cfg.Store.Redis.URL != "" {
		return "redis"
	}
	return "bolt"
}

func (h *Hub) closeAll() {
	var errs []error
	for i := len(h.closers) - 1; i >= 0; i-- {
		if err := h.closers[i](); err != nil && !errors.Is(err, store.ErrClosed) {
			errs = append(errs, err)
		}
	}
	h.closers = nil
	if err := errors.Join(errs...); err != nil {
		h.log.Error("shutdown", "err", err)
	}
}

// Addr returns the HTTP listener's address once Run has started listening.
func (h *Hub) Addr() string { return h.web.addr() }

// Ready is closed when the HTTP listener accepts connections.
func (h *Hub) Ready() <-chan struct{} { return h.web.ready }

// NewLogger builds the slog logger described by cfg.
func NewLogger(cfg configs.LogConfig, w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(cfg.Level)))
	ho := &slog.HandlerOptions{Level: lvl}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}
