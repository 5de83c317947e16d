package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/loadtest/procstat"
	"pingan/internal/sample"
	"pingan/internal/testutil/peer"
)

// result is the child's report over the window, all receivers together.
type result struct {
	Streams int     `json:"streams"` // received video streams (receiver × publisher)
	Packets uint64  `json:"packets"` // video packets received
	Lost    uint64  `json:"lost"`    // sequence gaps
	Frames  uint64  `json:"frames"`  // RTP timestamps seen (frames)
	Bytes   uint64  `json:"bytes"`   // video payload bytes
	Window  float64 `json:"window_s"`
	CPU     float64 `json:"cpu_s"` // the clients' own user+sys CPU over the window
}

// stream counts one received video stream.
type stream struct {
	packets, lost, frames, bytes atomic.Uint64
	decoded                      atomic.Uint64 // frames since joining
}

// member is one pion participant: a WebSocket, a subscriber
// PeerConnection answering server offers, maybe a publisher.
type member struct {
	name string
	id   string
	ws   *websocket.Conn
	wmu  sync.Mutex
	sub  *pwebrtc.PeerConnection
	pub  *pwebrtc.PeerConnection

	counting  *atomic.Bool
	streams   peer.ByLabel[stream] // by msid label (publisher participant id)
	published chan string
	joined    chan string
}

// runClients joins the publishers, then the viewers, waits until every
// receiver decodes every publisher (or a bound passes), prints "READY
// <join time> <streams decoding>", counts for d, prints the result as JSON
// and leaves.
func runClients(url string, pubs, viewers, kbps int, d time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var counting atomic.Bool
	start := time.Now()
	var members []*member
	defer func() {
		for _, m := range members {
			m.close()
		}
	}()
	var labels []string
	for i := range pubs {
		role := "participant"
		if i == 0 {
			role = "host"
		}
		m, err := join(url, fmt.Sprintf("pub%02d", i), role, &counting)
		if err != nil {
			return err
		}
		members = append(members, m)
		if err := m.publish(ctx, kbps); err != nil {
			return err
		}
		labels = append(labels, m.id)
	}
	vs := make([]*member, viewers)
	errs := make(chan error, viewers)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range viewers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			m, err := join(url, fmt.Sprintf("viewer%04d", i), "viewer", &counting)
			if err != nil {
				errs <- err
				return
			}
			vs[i] = m
		})
	}
	wg.Wait()
	for _, m := range vs {
		if m != nil {
			members = append(members, m)
		}
	}
	select {
	case err := <-errs:
		return err
	default:
	}
	want := 0
	for _, m := range members {
		want += len(expected(m, labels))
	}
	// Wait until every stream decodes, or measure what does after a bound.
	deadline := time.Now().Add(time.Minute + time.Duration(len(members))*50*time.Millisecond)
	decoding := 0
	for decoding = countDecoding(members, labels); decoding < want && time.Now().Before(deadline); decoding = countDecoding(members, labels) {
		time.Sleep(50 * time.Millisecond)
	}
	joinTime := time.Since(start)
	time.Sleep(time.Second) // let the cached-GOP bursts pass
	counting.Store(true)
	fmt.Printf("READY %s %d\n", joinTime, decoding)
	t0, cpu0 := time.Now(), procstat.CPUTime()
	time.Sleep(d)
	counting.Store(false)
	res := result{Streams: want, Window: time.Since(t0).Seconds(), CPU: (procstat.CPUTime() - cpu0).Seconds()}
	for _, m := range members {
		for _, l := range expected(m, labels) {
			s := m.stream(l)
			res.Packets += s.packets.Load()
			res.Lost += s.lost.Load()
			res.Frames += s.frames.Load()
			res.Bytes += s.bytes.Load()
		}
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	return nil
}

// expected lists the publishers m should receive (all but itself).
func expected(m *member, labels []string) []string {
	return slices.DeleteFunc(slices.Clone(labels), func(l string) bool { return l == m.id })
}

// countDecoding counts the streams that have decoded at least 5 frames.
func countDecoding(members []*member, labels []string) int {
	n := 0
	for _, m := range members {
		for _, l := range expected(m, labels) {
			if m.stream(l).decoded.Load() >= 5 {
				n++
			}
		}
	}
	return n
}

func api() (*pwebrtc.API, error) {
	return peer.NewAPI(peer.APIOptions{Quiet: true, LoopbackOnly: true, UDP4Only: true})
}

func join(url, name, role string, counting *atomic.Bool) (*member, error) {
	a, err := api()
	if err != nil {
		return nil, err
	}
	sub, err := a.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.Dial(url+"&name="+name+"&role="+role, nil)
	if err != nil {
		_ = sub.Close()
		return nil, fmt.Errorf("join %s: %w", name, err)
	}
	m := &member{name: name, ws: ws, sub: sub, counting: counting,
		published: make(chan string, 1), joined: make(chan string, 1)}
	sub.OnTrack(m.onTrack)
	go m.read()
	select {
	case m.id = <-m.joined:
	case <-time.After(10 * time.Second):
		m.close()
		return nil, fmt.Errorf("join %s: no answer", name)
	}
	if m.id == "" {
		m.close()
		return nil, fmt.Errorf("join %s: refused", name)
	}
	return m, nil
}

// read handles the hub's messages in order (offers are answered here).
func (m *member) read() {
	defer close(m.joined)
	for {
		var x msg
		if err := m.ws.ReadJSON(&x); err != nil {
			return
		}
		switch x.Type {
		case "joined":
			m.joined <- x.Participant
		case "offer":
			if err := m.answer(x.SDP); err != nil {
				return
			}
		case "published":
			m.published <- x.SDP
		case "error":
			m.published <- ""
		}
	}
}

func (m *member) send(x msg) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	_ = m.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return m.ws.WriteJSON(x)
}

func (m *member) answer(offer string) error {
	ans, err := peer.Answer(m.sub, offer)
	if err != nil {
		return err
	}
	return m.send(msg{Type: "answer", SDP: ans})
}

func (m *member) stream(label string) *stream { return m.streams.Get(label) }

func (m *member) onTrack(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
	if tr.Kind() != pwebrtc.RTPCodecTypeVideo {
		peer.Discard(tr)
		return
	}
	s := m.stream(tr.StreamID())
	var last uint16
	var lastTS uint32
	have := false
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if have {
			gap := int16(p.SequenceNumber - last - 1)
			if gap < 0 {
				continue // late or retransmitted
			}
			if m.counting.Load() {
				s.lost.Add(uint64(gap))
			}
		}
		if !have || p.Timestamp != lastTS { // a new frame
			s.decoded.Add(1)
			if m.counting.Load() {
				s.frames.Add(1)
			}
		}
		last, lastTS, have = p.SequenceNumber, p.Timestamp, true
		if m.counting.Load() {
			s.packets.Add(1)
			s.bytes.Add(uint64(len(p.Payload)))
		}
	}
}

func (m *member) close() {
	_ = m.ws.Close()
	_ = m.sub.Close()
	if m.pub != nil {
		_ = m.pub.Close()
	}
}

// publish sends the looping sample as H.264 (SEI-padded to kbps) and Opus.
func (m *member) publish(ctx context.Context, kbps int) error {
	a, err := api()
	if err != nil {
		return err
	}
	pc, err := a.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		return err
	}
	m.pub = pc
	tracks, err := peer.AddTracks(pc, "a", "v", m.name, nil)
	if err != nil {
		return err
	}
	peer.DrainRTCP(pc)
	offer, err := peer.Offer(pc)
	if err != nil {
		return err
	}
	if err := m.send(msg{Type: "publish", SDP: offer}); err != nil {
		return err
	}
	var answer string
	select {
	case answer = <-m.published:
	case <-time.After(15 * time.Second):
	}
	if answer == "" {
		return errors.New("publish: no answer")
	}
	if err := pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return err
	}
	filler, err := fillerFor(kbps)
	if err != nil {
		return err
	}
	go func() { _ = peer.Pump{Tracks: tracks, Filler: filler}.Run(ctx) }()
	return nil
}

// fillerFor is an SEI NALU (user data unregistered, RFC-free padding
// decoders skip) that pads each sample frame so the video reaches kbps;
// nil when the sample is already that large. (Filler NALUs, type 12, do
// not survive the hub's depacketizer.)
func fillerFor(kbps int) ([]byte, error) {
	vid, err := sample.Video()
	if err != nil {
		return nil, err
	}
	total := 0
	for _, f := range vid {
		for _, n := range f.NALUs {
			total += len(n)
		}
	}
	pad := kbps*1000/8/sample.FPS - total/len(vid)
	if pad <= 64 {
		return nil, nil
	}
	size := pad - 4 - pad/255 // header, type, size bytes, trailing bits
	b := []byte{6, 5}         // SEI, payload type 5
	for n := size; ; n -= 255 {
		if n < 255 {
			b = append(b, byte(n))
			break
		}
		b = append(b, 0xff)
	}
	for i := range size {
		if i < 16 {
			b = append(b, 0x50+byte(i)) // the UUID
		} else {
			b = append(b, 0xaa)
		}
	}
	return append(b, 0x80), nil
}
