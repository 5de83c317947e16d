package webrtc

import (
	"context"
	"testing"
	"time"

	"pingan/media"
)

func newTestSubscriber(t testing.TB, e *Engine, c *subClient) *Subscriber {
	t.Helper()
	var s *Subscriber
	ready := make(chan struct{})
	var err error
	s, err = e.NewSubscriber(context.Background(), SubscriberOptions{OnOffer: func(sdp string) {
		<-ready
		go c.answer(sdp, s.SetAnswer)
	}})
	must(t, err)
	close(ready)
	t.Cleanup(s.Close)
	return s
}

// TestSubscriberRenegotiates: forwards added and removed on one
// PeerConnection reach the client through server offers.
func TestSubscriberRenegotiates(t *testing.T) {
	e := newTestEngine(t, false)
	hub := newTestHub(t)
	publishSample(t, hub, "room/r/a", true)
	publishSample(t, hub, "room/r/b", true)
	c := newSubClient(t)
	s := newTestSubscriber(t, e, c)
	ctx := context.Background()

	fa, err := s.Forward(ctx, Source{Main: "room/r/a", Label: "a"}, ForwardOptions{Subscribe: hubSubscribe(hub)})
	must(t, err)
	waitFor(t, 10*time.Second, "a's frames", func() bool {
		r := c.counters("a")
		return r.frames.Load() >= 10 && r.audio.Load() > 5
	})
	fb, err := s.Forward(ctx, Source{Main: "room/r/b", Label: "b"}, ForwardOptions{Subscribe: hubSubscribe(hub)})
	must(t, err)
	waitFor(t, 10*time.Second, "b's frames", func() bool { return c.counters("b").frames.Load() >= 10 })
	fa.Close()
	n := c.offers.Load()
	waitFor(t, 5*time.Second, "an offer removing a", func() bool { return c.offers.Load() > n })
	before := c.counters("b").frames.Load()
	waitFor(t, 5*time.Second, "b still flowing", func() bool { return c.counters("b").frames.Load() > before+10 })
	if lost := c.counters("b").lost.Load(); lost != 0 {
		t.Errorf("b lost %d packets", lost)
	}
	if st := s.Stats(); st.Forwards != 1 || st.PacketsSent == 0 {
		t.Errorf("stats %+v", st)
	}
	if batching(t, e) && e.sends.batched.Load() == 0 {
		t.Error("two forwards on one subscriber: no packet went through a unit batch")
	}
	if info, _ := hub.Info("room/r/a"); info.Readers != 0 {
		t.Errorf("a still has %d readers after its forward closed", info.Readers)
	}
	_ = fb
}

// TestForwardSwitchesLayers: a forward of a three-layer source moves
// between layers at keyframes; the client sees continuous sequence numbers
// and keeps decoding frames, and the hub shows the layer reader move.
func TestForwardSwitchesLayers(t *testing.T) {
	e := newTestEngine(t, false)
	hub := newTestHub(t)
	publishSample(t, hub, "room/r/p", true)
	publishSample(t, hub, "room/r/p~q", false)
	publishSample(t, hub, "room/r/p~h", false)
	c := newSubClient(t)
	s := newTestSubscriber(t, e, c)
	src := Source{Main: "room/r/p", Layers: []media.StreamID{"room/r/p~q", "room/r/p~h"}, Label: "p"}
	f, err := s.Forward(context.Background(), src, ForwardOptions{Subscribe: hubSubscribe(hub), Layer: 2})
	must(t, err)
	waitFor(t, 10*time.Second, "frames on the top layer", func() bool { return c.counters("p").frames.Load() >= 10 })
	readers := func(id media.StreamID) int { i, _ := hub.Info(id); return i.Readers }
	for _, step := range []struct {
		layer int
		id    media.StreamID
	}{{0, "room/r/p~q"}, {1, "room/r/p~h"}, {2, "room/r/p"}} {
		f.SetLayer(step.layer)
		waitFor(t, 10*time.Second, "switch to "+string(step.id), func() bool { return f.Layer() == step.layer })
		before := c.counters("p").frames.Load()
		waitFor(t, 5*time.Second, "frames after the switch", func() bool { return c.counters("p").frames.Load() > before+10 })
		if step.layer < 2 && readers(step.id) != 1 {
			t.Errorf("layer %s has %d readers", step.id, readers(step.id))
		}
	}
	waitFor(t, 5*time.Second, "lower layer readers closed", func() bool {
		return readers("room/r/p~q") == 0 && readers("room/r/p~h") == 0
	})
	if lost := c.counters("p").lost.Load(); lost != 0 {
		t.Errorf("client saw %d missing sequence numbers across switches", lost)
	}
}
