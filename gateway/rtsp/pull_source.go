package rtsp

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/pion/rtp"

	"pingan/configs"
	"pingan/media"
)

// pullSource pulls one camera with a gortsplib client. Start runs one
// connection: it returns an error when the camera drops, and the hub
// restarts it with backoff (gortsplib clients do not reconnect).
type pullSource struct {
	cfg         configs.Source
	readTimeout time.Duration
	log         *slog.Logger
}

func newPullSource(cfg configs.Source, readTimeout time.Duration, log *slog.Logger) *pullSource {
	return &pullSource{cfg: cfg, readTimeout: readTimeout, log: log}
}

// transport maps the configured transport to gortsplib's: nil lets the
// client try UDP first and fall back to TCP.
func (s *pullSource) transport() (*gortsplib.Transport, error) {
	var t gortsplib.Transport
	switch s.cfg.Transport {
	case "", "auto":
		return nil, nil
	case "tcp":
		t = gortsplib.TransportTCP
	case "udp":
		t = gortsplib.TransportUDP
	default:
		return nil, fmt.Errorf("rtsp source %s: transport %q: want tcp, udp or auto", s.cfg.Name, s.cfg.Transport)
	}
	return &t, nil
}

// Start implements media.Source. It blocks until ctx ends (nil) or the
// camera fails (an error).
func (s *pullSource) Start(ctx context.Context, st *media.Stream) error {
	u, err := base.ParseURL(s.cfg.URL)
	if err != nil {
		return fmt.Errorf("rtsp source %s: url: %w", s.cfg.Name, err)
	}
	tr, err := s.transport()
	if err != nil {
		return err
	}
	safeURL := u.CloneWithoutCredentials().String()
	lost := newErrorCounter(s.log, "RTSP packets lost")
	decodeErrs := newErrorCounter(s.log, "RTSP decode errors")
	defer lost.flush()
	defer decodeErrs.flush()

	c := &gortsplib.Client{
		Scheme:      u.Scheme,
		Host:        u.Host,
		Transport:   tr,
		ReadTimeout: s.readTimeout,
		OnTransportSwitch: func(err error) {
			s.log.Info("RTSP transport switched", "url", safeURL, "reason", err)
		},
		OnPacketsLost: func(n uint64) { lost.add(n, nil) },
		OnDecodeError: func(err error) { decodeErrs.add(1, err) },
	}
	if err := c.Start2(); err != nil {
		return fmt.Errorf("rtsp source %s: %w", s.cfg.Name, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()

	if err := s.play(c, u, st, decodeErrs); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("rtsp source %s (%s): %w", s.cfg.Name, safeURL, err)
	}
	s.log.Info("RTSP source playing", "url", safeURL)
	err = c.Wait()
	if ctx.Err() != nil {
		return nil
	}
	s.log.Warn("RTSP source dropped", "url", safeURL, "error", err)
	return fmt.Errorf("rtsp source %s (%s): %w", s.cfg.Name, safeURL, err)
}

// play describes the camera, sets up every supported media, announces the
// tracks to the stream, wires packets to it and starts playing.
func (s *pullSource) play(c *gortsplib.Client, u *base.URL, st *media.Stream, decodeErrs *errorCounter) error {
	desc, _, err := c.Describe(u)
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	bound, skipped := tracksFromDesc(desc)
	for _, sk := range skipped {
		s.log.Info("RTSP media skipped: unsupported codec", "media", sk)
	}
	if len(bound) == 0 {
		return ErrNoMedia
	}
	tracks := make([]*media.Track, len(bound))
	deps := make([]*media.Depacketizer, len(bound))
	for i, b := range bound {
		tracks[i] = b.track
		if deps[i], err = media.NewDepacketizer(b.track); err != nil {
			return fmt.Errorf("depacketizer for %s: %w", b.track.Codec, err)
		}
	}
	for _, b := range bound {
		if _, err := c.Setup(desc.BaseURL, b.medi, 0, 0); err != nil {
			return fmt.Errorf("setup %s: %w", b.track.Codec, err)
		}
	}
	st.SetTracks(tracks)
	for i, b := range bound {
		c.OnPacketRTP(b.medi, b.forma, func(pkt *rtp.Packet) {
			writeUnits(st, i, deps[i], pkt, decodeErrs)
		})
	}
	if _, err := c.Play(nil); err != nil {
		return fmt.Errorf("play: %w", err)
	}
	return nil
}

// writeUnits depacketizes one packet of track i and writes the finished
// access units to the stream. Depacketizer errors are counted, not logged
// one by one.
func writeUnits(st *media.Stream, i int, dep *media.Depacketizer, pkt *rtp.Packet, errs *errorCounter) {
	units, err := dep.Push(pkt)
	if err != nil {
		errs.add(1, err)
		return
	}
	for _, u := range units {
		u.Track = i
		st.Write(u)
	}
}
