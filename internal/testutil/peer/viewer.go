package peer

import (
	"sync"
	"sync/atomic"

	pwebrtc "github.com/pion/webrtc/v4"
)

// Viewer is a bare recvonly pion peer (one video and one audio
// transceiver, no interceptors) that counts what a WHEP session sends it.
type Viewer struct {
	PC         *pwebrtc.PeerConnection
	Frames     atomic.Uint64 // video frames (RTP marker bits)
	Audio      atomic.Uint64 // audio packets
	FirstVideo chan []byte   // the payload of the first video packet
	VideoMime  atomic.Value  // string: the negotiated video codec
	once       sync.Once
}

// NewViewer builds a Viewer and returns it with its offer, every
// candidate gathered. The caller closes v.PC.
func NewViewer() (*Viewer, string, error) {
	api, err := NewAPI(APIOptions{NoInterceptors: true})
	if err != nil {
		return nil, "", err
	}
	pc, err := api.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	v := &Viewer{PC: pc, FirstVideo: make(chan []byte, 1)}
	for _, k := range []pwebrtc.RTPCodecType{pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			_ = pc.Close()
			return nil, "", err
		}
	}
	pc.OnTrack(func(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if tr.Kind() == pwebrtc.RTPCodecTypeAudio {
				v.Audio.Add(1)
				continue
			}
			if v.VideoMime.Load() == nil {
				v.VideoMime.Store(tr.Codec().MimeType)
			}
			if p.Marker {
				v.Frames.Add(1)
			}
			v.once.Do(func() { v.FirstVideo <- append([]byte(nil), p.Payload...) })
		}
	})
	offer, err := Offer(pc)
	if err != nil {
		_ = pc.Close()
		return nil, "", err
	}
	return v, offer, nil
}
