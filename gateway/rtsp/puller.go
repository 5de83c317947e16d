package rtsp

import (
	"log/slog"
	"strings"
	"time"

	"pingan/configs"
	"pingan/media"
)

// SourcePrefix is the stream id prefix of RTSP pull sources: the source
// named "gate1" in config is the stream "rtsp/gate1".
const SourcePrefix = "rtsp/"

// defaultReadTimeout is how long a pulled camera may stay silent before the
// source fails and the hub restarts it.
const defaultReadTimeout = 10 * time.Second

// Puller turns the configured RTSP sources (cameras, 视联网 RTSP gateways)
// into hub sources. Register its Factory under SourcePrefix; the hub then
// starts a pull on the first reader and stops it when the last one leaves.
type Puller struct {
	sources map[string]configs.Source
	log     *slog.Logger
	// ReadTimeout bounds how long a camera may send nothing. Zero means 10 s.
	// Set it before the hub uses Factory.
	ReadTimeout time.Duration
}

// NewPuller indexes sources by name. A nil log discards.
func NewPuller(sources []configs.Source, log *slog.Logger) *Puller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Puller{sources: make(map[string]configs.Source, len(sources)), log: log}
	for _, s := range sources {
		p.sources[s.Name] = s
	}
	return p
}

// Factory returns the hub source factory for SourcePrefix. An id naming no
// configured source gives media.ErrNotFound.
func (p *Puller) Factory() media.SourceFactory {
	return func(id media.StreamID) (media.Source, error) {
		name := strings.TrimPrefix(string(id), SourcePrefix)
		cfg, ok := p.sources[name]
		if !ok || name == "" {
			return nil, media.ErrNotFound
		}
		timeout := p.ReadTimeout
		if timeout <= 0 {
			timeout = defaultReadTimeout
		}
		return newPullSource(cfg, timeout, p.log.With("stream", SourcePrefix+name)), nil
	}
}
