package rtsp

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"

	"pingan/media"
)

// outStream serves one hub stream to every RTSP reader of it: one
// media.Reader feeds one gortsplib ServerStream, shared by all sessions that
// play the stream. The Server's registry counts the sessions and stops it
// when the last one leaves (or shortly after a DESCRIBE nobody followed up).
type outStream struct {
	id  media.StreamID
	log *slog.Logger

	ready chan struct{} // closed once built (err set on failure)
	err   error

	reader *media.Reader
	ss     *gortsplib.ServerStream
	medias []*description.Media // per hub track; nil = not forwarded
	pts    []uint8              // announced payload type per hub track
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// playing is closed when the first session is actively playing: only
	// then does run start reading, so that first reader receives the hub's
	// GOP cache (packets written before a session is active are not sent
	// to it).
	playing     chan struct{}
	playingOnce sync.Once

	// guarded by Server.mu
	sessions int
	retired  bool
}

func newOutStream(ctx context.Context, id media.StreamID, log *slog.Logger) *outStream {
	ctx, cancel := context.WithCancel(ctx)
	return &outStream{
		id: id, log: log, ctx: ctx, cancel: cancel,
		ready: make(chan struct{}), done: make(chan struct{}), playing: make(chan struct{}),
	}
}

// build subscribes to the hub stream and describes its tracks to RTSP.
// On error the outStream holds nothing open.
func (o *outStream) build(hub Hub, rs *gortsplib.Server) error {
	r, err := hub.Subscribe(o.ctx, o.id, media.ReaderOptions{})
	if err != nil {
		return err
	}
	tracks := r.Tracks()
	desc := &description.Session{Title: string(o.id)}
	o.medias = make([]*description.Media, len(tracks))
	o.pts = make([]uint8, len(tracks))
	for i, t := range tracks {
		pt := payloadTypeFor(t, i)
		m, err := formatFromTrack(t, pt)
		if err != nil {
			o.log.Info("RTSP out: track skipped", "track", i, "error", err)
			continue
		}
		o.medias[i], o.pts[i] = m, pt
		desc.Medias = append(desc.Medias, m)
	}
	if len(desc.Medias) == 0 {
		r.Close()
		return ErrNoMedia
	}
	ss := &gortsplib.ServerStream{Server: rs, Desc: desc}
	if err := ss.Initialize(); err != nil {
		r.Close()
		return fmt.Errorf("server stream: %w", err)
	}
	o.reader, o.ss = r, ss
	return nil
}

// run forwards the reader's units to the RTSP readers until the hub stream
// ends or the outStream is stopped; then it closes the ServerStream (which
// disconnects its sessions) and the reader. forget is called first so no new
// session picks this outStream up.
func (o *outStream) run(forget func(*outStream), writeErrs *errorCounter) {
	defer close(o.done)
	defer o.reader.Close()
	defer o.ss.Close()
	defer forget(o)
	select {
	case <-o.playing:
	case <-o.ctx.Done():
		return
	}
	for {
		u, err := o.reader.Next(o.ctx)
		if err != nil {
			if o.ctx.Err() == nil {
				o.log.Info("RTSP out: hub stream ended", "reason", err)
			}
			return
		}
		o.write(u, writeErrs)
	}
}

// write forwards one unit's packets. gortsplib finds the media by pointer
// and the format by payload type, and overwrites SSRC in place, so every
// packet is copied (the unit is shared with other readers) and given the
// announced payload type.
func (o *outStream) write(u *media.Unit, writeErrs *errorCounter) {
	if u.Track < 0 || u.Track >= len(o.medias) || o.medias[u.Track] == nil {
		return
	}
	m, pt := o.medias[u.Track], o.pts[u.Track]
	for _, p := range u.Packets {
		c := *p // header fields are values; payload and extensions stay shared and unmodified
		c.PayloadType = pt
		if err := o.ss.WritePacketRTPWithNTP(m, &c, u.Received); err != nil {
			writeErrs.add(1, err)
		}
	}
}

// markPlaying tells run that a session is playing.
func (o *outStream) markPlaying() {
	o.playingOnce.Do(func() { close(o.playing) })
}

// stop asks run to finish; it does not wait (the Server waits for all).
func (o *outStream) stop() { o.cancel() }
