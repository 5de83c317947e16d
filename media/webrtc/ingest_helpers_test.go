package webrtc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/testutil/peer"
	"pingan/media"
)

// newTestHub runs a media hub for the test's life.
func newTestHub(t testing.TB) *media.Hub {
	t.Helper()
	h := media.NewHub(media.Config{ReadyTimeout: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// clientAPI is a pion client API with the default codecs and interceptors
// (NACK, reports, TWCC feedback, simulcast extensions) and the audio-level
// extension, loopback ICE.
func clientAPI(t testing.TB) *pwebrtc.API {
	t.Helper()
	a, err := peer.NewAPI(peer.APIOptions{AudioLevel: true})
	must(t, err)
	return a
}

// pubClient is a pion publisher: H.264 video (one track per rid, or one
// plain track) and an Opus-labelled audio track carrying the sample's A-law.
type pubClient struct {
	pc *pwebrtc.PeerConnection
	peer.Tracks
}

func newPubClient(t testing.TB, rids []string) (*pubClient, string) {
	t.Helper()
	pc, err := clientAPI(t).NewPeerConnection(pwebrtc.Configuration{})
	must(t, err)
	tracks, err := peer.AddTracks(pc, "audio", "video", "pub", rids)
	must(t, err)
	peer.DrainRTCP(pc)
	offer, err := peer.Offer(pc)
	must(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	return &pubClient{pc: pc, Tracks: tracks}, offer
}

// pump sends the looping sample until ctx ends, every layer as is: a
// receiver tells layers apart by SSRC only.
func (c *pubClient) pump(ctx context.Context) { _ = peer.Pump{Tracks: c.Tracks}.Run(ctx) }

// obsOffer rewrites a pion publisher offer into the shape OBS 30+ sends
// to a WHIP endpoint (peer.OBSOffer, stream label obs-stream).
func obsOffer(t testing.TB, pionOffer string) string {
	t.Helper()
	offer, err := peer.OBSOffer(pionOffer, "obs-stream")
	must(t, err)
	return offer
}

// subClient answers a Subscriber's offers and counts what it receives per
// msid stream id.
type subClient struct {
	t      testing.TB
	pc     *pwebrtc.PeerConnection
	recv   peer.ByLabel[recvCounters]
	offers atomic.Int32
}

type recvCounters struct {
	video, audio, frames, keyframes atomic.Uint64
	lost                            atomic.Uint64
	ssrcs                           sync.Map // source payload prefix → seen (layer tags)
	lastPayload                     atomic.Value
}

func newSubClient(t testing.TB) *subClient {
	t.Helper()
	pc, err := clientAPI(t).NewPeerConnection(pwebrtc.Configuration{})
	must(t, err)
	c := &subClient{t: t, pc: pc}
	pc.OnTrack(c.onTrack)
	t.Cleanup(func() { _ = pc.Close() })
	return c
}

func (c *subClient) counters(label string) *recvCounters { return c.recv.Get(label) }

func (c *subClient) onTrack(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
	r := c.counters(tr.StreamID())
	video := tr.Kind() == pwebrtc.RTPCodecTypeVideo
	var last uint16
	var have bool
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if !video {
			r.audio.Add(1)
			continue
		}
		r.video.Add(1)
		if have && p.SequenceNumber != last+1 {
			r.lost.Add(uint64(p.SequenceNumber - last - 1))
		}
		last, have = p.SequenceNumber, true
		if p.Marker {
			r.frames.Add(1)
		}
		if startsKeyframe(p.Payload) {
			r.keyframes.Add(1)
		}
		r.lastPayload.Store(append([]byte(nil), p.Payload...))
	}
}

// answer applies a server offer and hands the answer to set.
func (c *subClient) answer(offer string, set func(string) error) {
	c.offers.Add(1)
	ans, err := peer.Answer(c.pc, offer)
	if err != nil {
		c.t.Errorf("client: answer: %v", err)
		return
	}
	if err := set(ans); err != nil {
		c.t.Errorf("client: send answer: %v", err)
	}
}

func fmtLabels(m map[string]*recvCounters) string {
	var b strings.Builder
	for k, v := range m {
		fmt.Fprintf(&b, "%s: video %d audio %d; ", k, v.video.Load(), v.audio.Load())
	}
	return b.String()
}
