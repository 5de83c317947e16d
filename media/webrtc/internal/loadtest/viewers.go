package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/testutil/peer"
)

// result is the child's report: packets received and lost (sequence gaps)
// over the window, all viewers together.
type result struct {
	Received uint64 `json:"received"`
	Lost     uint64 `json:"lost"`
	Expected uint64 `json:"expected"`
}

type counter struct {
	started        atomic.Int64 // viewers with a first video packet
	counting       atomic.Bool
	received, lost atomic.Uint64
	first          sync.WaitGroup
}

// runViewers connects n viewers, prints READY once each has a packet,
// counts for d, prints the result as JSON and exits.
func runViewers(url string, n int, d time.Duration) error {
	c := &counter{}
	c.first.Add(n)
	pcs := make([]*pwebrtc.PeerConnection, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pc, err := viewer(url, c)
			pcs[i] = pc
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	done := make(chan struct{})
	go func() { c.first.Wait(); close(done) }()
	wait := 30*time.Second + time.Duration(n)*100*time.Millisecond // a loaded box connects slowly
	select {
	case <-done:
	case <-time.After(wait):
		return fmt.Errorf("%d of %d viewers got no media within %s", n-int(c.started.Load()), n, wait)
	}
	time.Sleep(time.Second) // let the cached-GOP bursts pass
	c.counting.Store(true)
	fmt.Println("READY")
	time.Sleep(d)
	c.counting.Store(false)
	res := result{Received: c.received.Load(), Lost: c.lost.Load()}
	res.Expected = res.Received + res.Lost
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	for _, pc := range pcs {
		if pc != nil {
			_ = pc.Close()
		}
	}
	return nil
}

func viewer(url string, c *counter) (*pwebrtc.PeerConnection, error) {
	a, err := peer.NewAPI(peer.APIOptions{NoInterceptors: true, Quiet: true, LoopbackOnly: true})
	if err != nil {
		return nil, err
	}
	pc, err := a.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	for _, k := range []pwebrtc.RTPCodecType{pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return pc, err
		}
	}
	var once sync.Once
	pc.OnTrack(func(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
		if tr.Kind() == pwebrtc.RTPCodecTypeVideo {
			readVideo(tr, c, &once)
			return
		}
		peer.Discard(tr)
	})
	offer, err := peer.Offer(pc)
	if err != nil {
		return pc, err
	}
	res, err := http.Post(url, "application/sdp", bytes.NewBufferString(offer)) //nolint:noctx
	if err != nil {
		return pc, err
	}
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return pc, fmt.Errorf("POST: %d %s", res.StatusCode, answer)
	}
	return pc, pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: string(answer)})
}

func readVideo(tr *pwebrtc.TrackRemote, c *counter, once *sync.Once) {
	var last uint16
	have := false
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		once.Do(func() { c.started.Add(1); c.first.Done() })
		if have && c.counting.Load() {
			c.received.Add(1)
			if gap := p.SequenceNumber - last - 1; gap != 0 && gap < 1000 {
				c.lost.Add(uint64(gap))
			}
		}
		last, have = p.SequenceNumber, true
	}
}
