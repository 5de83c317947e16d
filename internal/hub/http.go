package hub

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"pingan/signaling"
	"pingan/web"
)

// httpServer is the hub's single HTTP listener: API, console, WHIP/WHEP, /ws.
type httpServer struct {
	h      *Hub
	router *signaling.Router
	reg    *prometheus.Registry
	srv    *http.Server
	tlsCfg *tls.Config
	whep   *signaling.WHEPAPI

	ready    chan struct{}
	mu       sync.Mutex
	listened string
}

func newHTTPServer(h *Hub) (*httpServer, error) {
	s := &httpServer{h: h, ready: make(chan struct{}), reg: prometheus.NewRegistry()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.router = signaling.NewRouter(h.auth, h.cfg.HTTP.MaxBodyBytes)
	s.router.Public("GET /healthz", s.healthz)
	s.router.Public("GET /readyz", s.readyz)
	s.router.Raw("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	signaling.NewUsersAPI(h.auth).Routes(s.router)
	(&signaling.StreamsAPI{Hub: h.media, Access: h.access}).Routes(s.router)
	rooms, err := h.buildRooms(s.router)
	if err != nil {
		return nil, err
	}
	s.whep = &signaling.WHEPAPI{Streams: h.media, Engine: h.rtc, Access: rooms.api.StreamAccess(h.access), Logger: h.log.With("part", "whep")}
	s.whep.Routes(s.router)
	h.ws.Routes(s.router)
	h.recordings.Routes(s.router)
	devices := signaling.NewDevicesAPI(devicesAdapter{gb: h.gb})
	devices.Audit = h.auth
	devices.Routes(s.router)
	h.dispatchRoutes(s.router, h.dispatch)
	signaling.NewLayoutsAPI(h.store).Routes(s.router) // saved wall layouts per user
	s.router.Raw("/", web.Handler())

	tlsCfg, err := loadTLS(h.cfg)
	if err != nil {
		return nil, err
	}
	s.tlsCfg = tlsCfg
	s.srv = &http.Server{
		Handler:           s.instrument(s.router),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       h.cfg.HTTP.ReadTimeout.D(),
		WriteTimeout:      h.cfg.HTTP.WriteTimeout.D(),
		IdleTimeout:       h.cfg.HTTP.IdleTimeout.D(),
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsCfg,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

func (s *httpServer) run(ctx context.Context) error {
	s.whep.Context = ctx // sessions and recordings live until the hub stops
	s.h.recordings.Context = ctx
	if err := s.h.recordings.Recover(ctx); err != nil {
		s.h.log.Warn("recordings: recovering after a restart", "err", err)
	}
	defer s.h.recordings.Close()
	ln, err := net.Listen("tcp", s.h.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr: %w", err)
	}
	s.mu.Lock()
	s.listened = ln.Addr().String()
	s.mu.Unlock()
	close(s.ready)
	errc := make(chan error, 1)
	go func() {
		if s.tlsCfg != nil {
			errc <- s.srv.ServeTLS(ln, "", "")
		} else {
			errc <- s.srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.h.cfg.HTTP.ShutdownTimeout.D())
	defer cancel()
	err = s.srv.Shutdown(sctx)
	<-errc
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func (s *httpServer) addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listened
}

func (s *httpServer) healthz(w http.ResponseWriter, r *http.Request) {
	signaling.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": Version})
}

// readyz answers 200 only when the store answers within a second.
func (s *httpServer) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := s.h.store.Ping(ctx); err != nil {
		signaling.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{
			"status": "unavailable", "store": s.h.storeKind(), "error": err.Error(),
		})
		return
	}
	signaling.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready", "store": s.h.storeKind()})
}

// instrument counts requests by route pattern and status.
func (s *httpServer) instrument(next http.Handler) http.Handler {
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pingan_http_requests_total", Help: "HTTP requests by route and status.",
	}, []string{"route", "code"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "pingan_http_request_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5},
	}, []string{"route"})
	s.reg.MustRegister(reqs, dur)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		if s.tlsCfg != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		reqs.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		dur.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer (WebSocket hijack, flush).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection to the WebSocket upgrader.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Flush forwards to the underlying writer.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
