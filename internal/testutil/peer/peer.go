// Package peer holds the pion client side shared by the WebRTC tests
// (media/webrtc, media/room, signaling) and the load-test harnesses: a
// loopback client API, offer/answer with gathered candidates, publisher
// tracks, the shipped sample sent as H.264 + Opus-labelled RTP, and an
// OBS-shaped WHIP offer.
//
// It imports only internal/sample of the project, so the internal tests
// of media/webrtc can use it without an import cycle.
package peer

import (
	"net"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	pwebrtc "github.com/pion/webrtc/v4"
)

// APIOptions shape a client API. The zero value is the default codecs and
// interceptors (NACK, reports, TWCC, simulcast extensions) with loopback
// candidates and mDNS off.
type APIOptions struct {
	AudioLevel     bool // also offer the RFC 6464 audio-level extension
	NoInterceptors bool // no default interceptors (a bare receiver)
	Quiet          bool // pion logs errors only
	LoopbackOnly   bool // gather loopback addresses only
	UDP4Only       bool // no ICE-TCP, no IPv6
}

// NewAPI builds a pion API for one client.
func NewAPI(o APIOptions) (*pwebrtc.API, error) {
	me := &pwebrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	opts := []func(*pwebrtc.API){pwebrtc.WithMediaEngine(me)}
	if !o.NoInterceptors {
		ir := &interceptor.Registry{}
		if err := pwebrtc.RegisterDefaultInterceptors(me, ir); err != nil {
			return nil, err
		}
		opts = append(opts, pwebrtc.WithInterceptorRegistry(ir))
	}
	if o.AudioLevel {
		if err := me.RegisterHeaderExtension(pwebrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, pwebrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	se := pwebrtc.SettingEngine{}
	if o.Quiet {
		se.LoggerFactory = &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelError}
	}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if o.LoopbackOnly {
		se.SetIPFilter(net.IP.IsLoopback)
	}
	if o.UDP4Only {
		se.SetNetworkTypes([]pwebrtc.NetworkType{pwebrtc.NetworkTypeUDP4})
	}
	return pwebrtc.NewAPI(append(opts, pwebrtc.WithSettingEngine(se))...), nil
}

// Offer creates pc's offer, sets it and returns it with every candidate
// gathered (no trickle).
func Offer(pc *pwebrtc.PeerConnection) (string, error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	gathered := pwebrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

// Answer applies a remote offer to pc and returns pc's answer with every
// candidate gathered.
func Answer(pc *pwebrtc.PeerConnection, offer string) (string, error) {
	if err := pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := pwebrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

// DrainRTCP reads every sender of pc until it closes, so the NACK and
// report interceptors run.
func DrainRTCP(pc *pwebrtc.PeerConnection) {
	for _, snd := range pc.GetSenders() {
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := snd.Read(buf); err != nil {
					return
				}
			}
		}()
	}
}

// Discard reads tr until it ends, dropping what comes.
func Discard(tr *pwebrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := tr.Read(buf); err != nil {
			return
		}
	}
}

// ByLabel holds one *T per msid stream label, made on first use.
type ByLabel[T any] struct {
	mu sync.Mutex
	m  map[string]*T
}

// Get returns label's value, creating it.
func (b *ByLabel[T]) Get(label string) *T {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*T{}
	}
	v := b.m[label]
	if v == nil {
		v = new(T)
		b.m[label] = v
	}
	return v
}

// All is a snapshot of the labels and their values.
func (b *ByLabel[T]) All() map[string]*T {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]*T, len(b.m))
	for k, v := range b.m {
		out[k] = v
	}
	return out
}
