package webrtc

import (
	"context"
	"errors"
	"time"
)

// forwardState is the layer state the forward goroutine owns.
type forwardState struct {
	top     int
	cur     int // layer whose video is sent
	pending int // layer we switch to at its next keyframe; -1 none
	since   time.Time
	feeds   map[int]*feed
}

// run reads the feeds, switches layers and writes to the tracks until the
// forward ends; then it removes the tracks and waits for its goroutines.
func (f *Forward) run() {
	top := len(f.src.Layers)
	st := &forwardState{top: top, cur: top, pending: -1, feeds: map[int]*feed{}}
	st.feeds[top] = f.startFeed(top, f.main)
	f.retarget(st)
	st.since = time.Time{} // a first layer may start from its cached GOP
	tick := time.NewTicker(time.Second)
	defer func() {
		tick.Stop()
		f.cancel()
		f.detach()
		f.wg.Wait()
		close(f.done)
	}()
	for {
		select {
		case fu := <-f.units:
			if fu.u == nil {
				if !f.feedEnded(st, fu) {
					return
				}
				continue
			}
			err := f.handle(st, fu)
			if errors.Is(err, errNeedKeyframe) {
				f.requestKeyframe(st.cur) // rate-limited
				continue
			}
			if err != nil {
				if !errors.Is(err, errTrackClosed) {
					f.sub.log.Info("forward write failed", "source", f.src.Label, "err", err)
				}
				return
			}
		case <-f.wake:
			f.retarget(st)
		case <-tick.C:
			if st.pending >= 0 && time.Since(st.since) > time.Second {
				f.requestKeyframe(st.pending) // the target layer has not sent one yet
			}
		case <-f.ctx.Done():
			return
		}
	}
}

// startFeed reads layer's stream (opening its reader unless r is given)
// into f.units until its context ends.
func (f *Forward) startFeed(layer int, r Reader) *feed {
	ctx, cancel := context.WithCancel(f.ctx)
	fd := &feed{cancel: cancel, since: time.Now()}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		if r == nil {
			var err error
			r, err = f.opts.Subscribe(ctx, f.src.Layers[layer])
			if err != nil {
				f.send(ctx, feedUnit{layer: layer, err: err})
				return
			}
			f.readers.Store(layer, r)
			r.RequestKeyframe()
		}
		defer r.Close()
		for {
			u, err := r.Next(ctx)
			if err != nil {
				if ctx.Err() == nil {
					f.send(ctx, feedUnit{layer: layer, err: err})
				}
				return
			}
			if !f.send(ctx, feedUnit{layer: layer, u: u}) {
				return
			}
		}
	}()
	return fd
}

func (f *Forward) send(ctx context.Context, fu feedUnit) bool {
	select {
	case f.units <- fu:
		return true
	case <-ctx.Done():
		return false
	}
}

func (f *Forward) stopFeed(st *forwardState, layer int) {
	if layer == st.top {
		return // the main feed runs for the forward's life (audio)
	}
	if fd := st.feeds[layer]; fd != nil {
		fd.cancel()
		delete(st.feeds, layer)
		f.readers.Delete(layer)
	}
}

// retarget starts a switch to the target layer (or cancels one).
func (f *Forward) retarget(st *forwardState) {
	t := int(f.target.Load())
	if t == st.pending {
		return
	}
	if st.pending >= 0 && st.pending != st.cur {
		f.stopFeed(st, st.pending)
	}
	st.pending = -1
	if t == st.cur || f.video == nil {
		return
	}
	st.pending, st.since = t, time.Now()
	if t == st.top {
		f.main.RequestKeyframe()
		return
	}
	st.feeds[t] = f.startFeed(t, nil)
}

// feedEnded handles a layer reader that failed or ended; false ends the
// forward (the main stream is gone).
func (f *Forward) feedEnded(st *forwardState, fu feedUnit) bool {
	if fu.layer == st.top {
		return false
	}
	f.sub.log.Debug("forward layer ended", "source", f.src.Label, "layer", fu.layer, "err", fu.err)
	f.stopFeed(st, fu.layer)
	if fu.layer == st.pending {
		st.pending = -1
	}
	if fu.layer == st.cur { // fall back to the main stream
		st.cur = st.top
		f.current.Store(int32(st.top))
		f.video.switchSource()
		f.main.RequestKeyframe()
	}
	return true
}

// handle writes one unit: audio from the main stream, video from the
// current layer; a fresh keyframe of the pending layer completes a switch.
func (f *Forward) handle(st *forwardState, fu feedUnit) error {
	u := fu.u
	now := f.sub.clock.begin()
	defer f.sub.clock.end()
	q := f.sub.batch.begin(len(u.Packets))
	defer q.finish()
	if fu.layer == st.top && u.Track == f.aIndex && f.audio != nil {
		return f.audio.writeUnit(u, now)
	}
	if f.video == nil {
		return nil
	}
	vi := 0 // a layer stream holds only its video track
	if fu.layer == st.top {
		vi = f.vIndex
	}
	if u.Track != vi {
		return nil
	}
	if fu.layer == st.pending && u.Keyframe && !u.Received.Before(st.since) {
		old := st.cur
		st.cur, st.pending = st.pending, -1
		f.current.Store(int32(st.cur))
		f.video.switchSource()
		if old != st.top {
			f.stopFeed(st, old)
		}
	}
	if fu.layer != st.cur {
		return nil
	}
	return f.video.writeUnit(u, now)
}
