package webrtc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/media"
)

// Payload types of our MediaEngine. The answer uses the browser's numbers;
// these only have to be distinct.
const (
	ptH264Baseline      = 102 // 42001f
	ptH264ConstBaseline = 106 // 42e01f
	ptH264Main          = 108 // 4d001f
	ptH264High          = 110 // 64001f
	ptH264ConstHigh     = 112 // 640c1f
	ptH265Main          = 116
	ptH265Main10        = 118
	ptOpus              = 111
	ptPCMU              = 0
	ptPCMA              = 8
)

// h264Profiles are the profile-level-ids we register (packetization-mode=1).
// pion matches H.264 on the first two bytes (profile_idc + constraint flags).
var h264Profiles = []struct {
	pt  pwebrtc.PayloadType
	pli string
}{
	{ptH264ConstBaseline, "42e01f"},
	{ptH264Baseline, "42001f"},
	{ptH264Main, "4d001f"},
	{ptH264High, "64001f"},
	{ptH264ConstHigh, "640c1f"},
}

var videoFeedback = []pwebrtc.RTCPFeedback{
	{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"},
}

// h264Fmtp is the fmtp line for a profile-level-id.
func h264Fmtp(pli string) string {
	return "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + pli
}

// newMediaEngine registers what a session may send: H.264 in several
// profiles, H.265 (answered only when the browser offers it), Opus, PCMU,
// PCMA. AAC is never offered to browsers.
func newMediaEngine() (*pwebrtc.MediaEngine, error) {
	m := &pwebrtc.MediaEngine{}
	reg := func(c pwebrtc.RTPCodecParameters, kind pwebrtc.RTPCodecType) error {
		if err := m.RegisterCodec(c, kind); err != nil {
			return fmt.Errorf("webrtc: register %s: %w", c.MimeType, err)
		}
		return nil
	}
	var errs []error
	for _, p := range h264Profiles {
		errs = append(errs, reg(pwebrtc.RTPCodecParameters{
			RTPCodecCapability: pwebrtc.RTPCodecCapability{
				MimeType: pwebrtc.MimeTypeH264, ClockRate: 90000,
				SDPFmtpLine: h264Fmtp(p.pli), RTCPFeedback: videoFeedback,
			},
			PayloadType: p.pt,
		}, pwebrtc.RTPCodecTypeVideo))
	}
	for _, h := range []struct {
		pt      pwebrtc.PayloadType
		profile string
	}{{ptH265Main, "1"}, {ptH265Main10, "2"}} {
		errs = append(errs, reg(pwebrtc.RTPCodecParameters{
			RTPCodecCapability: pwebrtc.RTPCodecCapability{
				MimeType: pwebrtc.MimeTypeH265, ClockRate: 90000,
				SDPFmtpLine:  "level-id=180;profile-id=" + h.profile + ";tier-flag=0;tx-mode=SRST",
				RTCPFeedback: videoFeedback,
			},
			PayloadType: h.pt,
		}, pwebrtc.RTPCodecTypeVideo))
	}
	errs = append(errs,
		reg(pwebrtc.RTPCodecParameters{
			RTPCodecCapability: pwebrtc.RTPCodecCapability{
				MimeType: pwebrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
				SDPFmtpLine: "minptime=10;useinbandfec=1",
			},
			PayloadType: ptOpus,
		}, pwebrtc.RTPCodecTypeAudio),
		reg(pwebrtc.RTPCodecParameters{
			RTPCodecCapability: pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypePCMU, ClockRate: 8000},
			PayloadType:        ptPCMU,
		}, pwebrtc.RTPCodecTypeAudio),
		reg(pwebrtc.RTPCodecParameters{
			RTPCodecCapability: pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypePCMA, ClockRate: 8000},
			PayloadType:        ptPCMA,
		}, pwebrtc.RTPCodecTypeAudio),
	)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// ProfileLevelID returns the H.264 profile-level-id (6 hex digits) an SPS
// declares: profile_idc, constraint flags, level_idc. ok is false for a
// missing or short SPS.
func ProfileLevelID(sps []byte) (string, bool) {
	if len(sps) < 4 || sps[0]&0x1f != 7 {
		return "", false
	}
	return hex.EncodeToString(sps[1:4]), true
}

// capability is the codec a hub track goes out as, or why it cannot.
func capability(t *media.Track) (pwebrtc.RTPCodecCapability, error) {
	switch t.Codec {
	case media.H264:
		pli, ok := ProfileLevelID(t.SPS)
		if !ok {
			pli = "42e01f"
		}
		return pwebrtc.RTPCodecCapability{
			MimeType: pwebrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: h264Fmtp(pli), RTCPFeedback: videoFeedback,
		}, nil
	case media.H265:
		return pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypeH265, ClockRate: 90000, RTCPFeedback: videoFeedback}, nil
	case media.Opus:
		return pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, nil
	case media.PCMA:
		return pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypePCMA, ClockRate: 8000}, nil
	case media.PCMU:
		return pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypePCMU, ClockRate: 8000}, nil
	}
	return pwebrtc.RTPCodecCapability{}, fmt.Errorf("%s is not sent to browsers", t.Codec)
}

// chooseCodec picks, among the negotiated codecs, the one to send c with:
// for H.264 the same profile (profile_idc and constraint byte), then the same
// profile_idc, then any packetization-mode=1; for the others the MIME type.
func chooseCodec(c pwebrtc.RTPCodecCapability, negotiated []pwebrtc.RTPCodecParameters) (pwebrtc.RTPCodecParameters, bool) {
	var best pwebrtc.RTPCodecParameters
	bestScore := 0
	want := fmtpParams(c.SDPFmtpLine)["profile-level-id"]
	for _, n := range negotiated {
		if !strings.EqualFold(n.MimeType, c.MimeType) {
			continue
		}
		score := 1
		if strings.EqualFold(c.MimeType, pwebrtc.MimeTypeH264) {
			p := fmtpParams(n.SDPFmtpLine)
			if p["packetization-mode"] != "1" {
				continue
			}
			got := strings.ToLower(p["profile-level-id"])
			switch {
			case len(got) >= 4 && len(want) >= 4 && got[:4] == want[:4]:
				score = 3
			case len(got) >= 2 && len(want) >= 2 && got[:2] == want[:2]:
				score = 2
			}
		}
		if score > bestScore {
			best, bestScore = n, score
		}
	}
	return best, bestScore > 0
}

func fmtpParams(line string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k != "" {
			out[strings.ToLower(k)] = strings.ToLower(v)
		}
	}
	return out
}

// offer is what a browser's SDP offer asks for.
type offer struct {
	// sections counts the m= sections per kind that can receive media.
	sections map[pwebrtc.RTPCodecType]int
	// codecs holds the upper-case encoding names offered per kind.
	codecs map[pwebrtc.RTPCodecType]map[string]bool
}

// parseOffer checks an SDP offer and lists what it can receive.
func parseOffer(s string) (offer, error) {
	o := offer{sections: map[pwebrtc.RTPCodecType]int{}, codecs: map[pwebrtc.RTPCodecType]map[string]bool{}}
	if strings.TrimSpace(s) == "" {
		return o, fmt.Errorf("%w: empty offer", ErrBadOffer)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return o, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if len(d.MediaDescriptions) == 0 {
		return o, fmt.Errorf("%w: no media sections", ErrBadOffer)
	}
	for _, md := range d.MediaDescriptions {
		kind := pwebrtc.NewRTPCodecType(md.MediaName.Media)
		if kind == 0 {
			continue
		}
		// Port 0 rejects a section, except with a=bundle-only (RFC 8843
		// §7.3): Firefox offers every section after the first that way.
		if _, bundleOnly := md.Attribute("bundle-only"); md.MediaName.Port.Value == 0 && !bundleOnly {
			continue
		}
		if _, ok := md.Attribute("sendonly"); ok {
			continue
		}
		if _, ok := md.Attribute("inactive"); ok {
			continue
		}
		o.sections[kind]++
		if o.codecs[kind] == nil {
			o.codecs[kind] = map[string]bool{}
		}
		for _, a := range md.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			_, rest, _ := strings.Cut(a.Value, " ")
			name, _, _ := strings.Cut(rest, "/")
			o.codecs[kind][strings.ToUpper(strings.TrimSpace(name))] = true
		}
	}
	if len(o.sections) == 0 {
		return o, fmt.Errorf("%w: no section can receive audio or video", ErrBadOffer)
	}
	return o, nil
}

// accepts reports whether the offer can take c, or why not.
func (o offer) accepts(kind pwebrtc.RTPCodecType, c pwebrtc.RTPCodecCapability) error {
	if o.sections[kind] == 0 {
		return fmt.Errorf("the offer has no %s section", kind)
	}
	name := strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(c.MimeType, "video/"), "audio/"))
	if !o.codecs[kind][name] {
		return fmt.Errorf("the browser does not offer %s", name)
	}
	return nil
}

// ValidateOffer checks that offer is an SDP offer with at least one section
// that can receive media, without building a PeerConnection. Signaling calls
// it before subscribing, so garbage never starts an on-demand source.
func ValidateOffer(offer string) error {
	_, err := parseOffer(offer)
	return err
}
