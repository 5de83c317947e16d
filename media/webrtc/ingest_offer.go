package webrtc

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
	pwebrtc "github.com/pion/webrtc/v4"
)

// PublishOffer is what a publisher's SDP offer (WHIP, OBS, a browser
// joining a room) sends.
type PublishOffer struct {
	Video, Audio bool
	// RIDs are the simulcast layers of the video section (a=rid:… send), in
	// the order offered; empty without simulcast.
	RIDs []string
}

// ParsePublishOffer checks that offer is an SDP offer with at least one
// section that sends media and lists what it sends.
func ParsePublishOffer(offer string) (PublishOffer, error) {
	var po PublishOffer
	if strings.TrimSpace(offer) == "" {
		return po, fmt.Errorf("%w: empty offer", ErrBadOffer)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return po, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	for _, md := range d.MediaDescriptions {
		kind := pwebrtc.NewRTPCodecType(md.MediaName.Media)
		if kind == 0 || md.MediaName.Port.Value == 0 {
			continue
		}
		if _, ok := md.Attribute("recvonly"); ok {
			continue
		}
		if _, ok := md.Attribute("inactive"); ok {
			continue
		}
		switch kind {
		case pwebrtc.RTPCodecTypeVideo:
			if po.Video {
				continue // one video section per publication
			}
			po.Video = true
			for _, a := range md.Attributes {
				if a.Key != "rid" {
					continue
				}
				f := strings.Fields(a.Value)
				if len(f) >= 2 && f[1] == "send" {
					po.RIDs = append(po.RIDs, f[0])
				}
			}
		case pwebrtc.RTPCodecTypeAudio:
			po.Audio = true
		}
	}
	if !po.Video && !po.Audio {
		return po, fmt.Errorf("%w: no section sends audio or video", ErrBadOffer)
	}
	return po, nil
}
