package peer

import (
	"errors"
	"strings"

	"github.com/pion/sdp/v3"
)

// OBSOffer rewrites a pion publisher offer (audio m-line first, video
// second, as AddTracks makes them) into the shape OBS 30+ (libdatachannel)
// sends to a WHIP endpoint: one BUNDLE, rtcp-mux, Opus PT 111, H.264 PT 96
// packetization-mode=1, a=ssrc lines with msid, no header extensions,
// trickle-capable ice-options. msid is the stream label of both tracks.
func OBSOffer(pionOffer, msid string) (string, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(pionOffer); err != nil {
		return "", err
	}
	if len(d.MediaDescriptions) < 2 {
		return "", errors.New("peer: offer without audio and video m-lines")
	}
	attr := func(md *sdp.MediaDescription, key string) string {
		if v, ok := md.Attribute(key); ok {
			return v
		}
		v, _ := d.Attribute(key)
		return v
	}
	ssrc := func(md *sdp.MediaDescription) string {
		for _, a := range md.Attributes {
			if a.Key == "ssrc" {
				id, _, _ := strings.Cut(a.Value, " ")
				return id
			}
		}
		return ""
	}
	au, vi := d.MediaDescriptions[0], d.MediaDescriptions[1]
	if ssrc(au) == "" || ssrc(vi) == "" {
		return "", errors.New("peer: offer without a=ssrc")
	}
	var cands []string
	for _, a := range au.Attributes {
		if a.Key == "candidate" {
			cands = append(cands, "a=candidate:"+a.Value)
		}
	}
	l := []string{"v=0", "o=rtc 2851913441 0 IN IP4 127.0.0.1", "s=-", "t=0 0",
		"a=group:BUNDLE 0 1", "a=group:LS 0 1", "a=msid-semantic:WMS *", "a=ice-options:ice2,trickle",
		"a=fingerprint:" + attr(au, "fingerprint"),
		"m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:0", "a=sendonly",
		"a=ssrc:" + ssrc(au) + " cname:obs", "a=ssrc:" + ssrc(au) + " msid:" + msid + " obs-audio", "a=msid:" + msid + " obs-audio",
		"a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1",
		"a=setup:actpass", "a=ice-ufrag:" + attr(au, "ice-ufrag"), "a=ice-pwd:" + attr(au, "ice-pwd")}
	l = append(l, cands...)
	l = append(l, "m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=mid:1", "a=sendonly",
		"a=ssrc:"+ssrc(vi)+" cname:obs", "a=ssrc:"+ssrc(vi)+" msid:"+msid+" obs-video", "a=msid:"+msid+" obs-video",
		"a=rtcp-mux", "a=rtpmap:96 H264/90000", "a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli", "a=rtcp-fb:96 goog-remb",
		"a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
		"a=setup:actpass", "a=ice-ufrag:"+attr(vi, "ice-ufrag"), "a=ice-pwd:"+attr(vi, "ice-pwd"))
	return strings.Join(l, "\r\n") + "\r\n", nil
}
