package webrtc

import (
	"strings"
	"testing"

	pwebrtc "github.com/pion/webrtc/v4"
)

// firefoxStyleOffer has an audio section first and a video section that
// is bundle-only with port 0, the way Firefox offers them.
const firefoxStyleOffer = "v=0\r\n" +
	"o=mozilla...THIS_IS_SDPARTA-99.0 1 0 IN IP4 0.0.0.0\r\n" +
	"s=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0 1\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef0123456789\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 109 8\r\n" +
	"c=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=setup:actpass\r\n" +
	"a=rtpmap:109 opus/48000/2\r\na=rtpmap:8 PCMA/8000\r\n" +
	"m=video 0 UDP/TLS/RTP/SAVPF 126\r\n" +
	"c=IN IP4 0.0.0.0\r\na=bundle-only\r\na=mid:1\r\na=recvonly\r\na=rtcp-mux\r\na=setup:actpass\r\n" +
	"a=rtpmap:126 H264/90000\r\na=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1\r\n"

func TestParseOfferBundleOnly(t *testing.T) {
	o, err := parseOffer(firefoxStyleOffer)
	if err != nil {
		t.Fatal(err)
	}
	if o.sections[pwebrtc.RTPCodecTypeVideo] != 1 || !o.codecs[pwebrtc.RTPCodecTypeVideo]["H264"] {
		t.Fatalf("the bundle-only video section was not counted: %+v", o)
	}
	if o.sections[pwebrtc.RTPCodecTypeAudio] != 1 || !o.codecs[pwebrtc.RTPCodecTypeAudio]["PCMA"] {
		t.Fatalf("audio section: %+v", o)
	}

	// Without bundle-only, port 0 rejects the section.
	rejected := strings.Replace(firefoxStyleOffer, "a=bundle-only\r\n", "", 1)
	o, err = parseOffer(rejected)
	if err != nil {
		t.Fatal(err)
	}
	if o.sections[pwebrtc.RTPCodecTypeVideo] != 0 {
		t.Fatalf("a rejected (port 0) video section was counted: %+v", o)
	}
}
