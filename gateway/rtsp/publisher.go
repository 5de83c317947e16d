package rtsp

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/pion/rtp"

	"pingan/media"
)

// publisher is one RTSP session publishing into the hub (ffmpeg, OBS, an
// encoder doing ANNOUNCE + RECORD). It owns the hub stream it publishes to
// and closes it when the session ends.
type publisher struct {
	id     media.StreamID
	stream *media.Stream
	bound  []boundTrack
	log    *slog.Logger
	errs   *errorCounter
}

func newPublisher(id media.StreamID, stream *media.Stream, bound []boundTrack, log *slog.Logger) *publisher {
	return &publisher{
		id: id, stream: stream, bound: bound, log: log,
		errs: newErrorCounter(log, "RTSP publisher decode errors"),
	}
}

// record keeps the announced media the client actually set up, gives the
// stream its tracks, and routes the session's packets through a
// depacketizer per track into the stream.
func (p *publisher) record(ss *gortsplib.ServerSession) error {
	setup := ss.SetuppedMedias()
	var kept []boundTrack
	for _, b := range p.bound {
		if slices.Contains(setup, b.medi) {
			b.index = len(kept)
			kept = append(kept, b)
		}
	}
	if len(kept) == 0 {
		return ErrNoMedia
	}
	tracks := make([]*media.Track, len(kept))
	deps := make([]*media.Depacketizer, len(kept))
	for i, b := range kept {
		var err error
		if deps[i], err = media.NewDepacketizer(b.track); err != nil {
			return fmt.Errorf("depacketizer for %s: %w", b.track.Codec, err)
		}
		tracks[i] = b.track
	}
	p.bound = kept
	p.stream.SetTracks(tracks)
	for i, b := range kept {
		ss.OnPacketRTP(b.medi, b.forma, func(pkt *rtp.Packet) {
			writeUnits(p.stream, i, deps[i], pkt, p.errs)
		})
	}
	codecs := make([]string, len(tracks))
	for i, t := range tracks {
		codecs[i] = string(t.Codec)
	}
	p.log.Info("RTSP publisher recording", "codecs", codecs)
	return nil
}

// close ends the hub stream; its readers see it end.
func (p *publisher) close(err error) {
	p.errs.flush()
	p.stream.Close()
	p.log.Info("RTSP publisher left", "reason", err)
}

// boundFor lists the description's supported media, logging the rest.
func boundFor(desc *description.Session, log *slog.Logger) []boundTrack {
	bound, skipped := tracksFromDesc(desc)
	for _, sk := range skipped {
		log.Info("RTSP media skipped: unsupported codec", "media", sk)
	}
	return bound
}
