package signaling

import (
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	pwebrtc "github.com/pion/webrtc/v4"
)

// trickleFragCases drive TestParseTrickleFrag and seed FuzzTrickleFrag.
var trickleFragCases = []struct {
	name, body string
	ok         bool
	cands      int // candidates incl. end-of-candidates markers
}{
	{"rfc 9725 example", "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" +
		"a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r\n" +
		"a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2\r\n" +
		"a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active generation 0 ufrag EsAw network-id 1\r\n" +
		"a=candidate:2154773085 1 tcp 1518214911 198.51.100.2 9 typ host tcptype active generation 0 ufrag EsAw network-id 2\r\n" +
		"a=end-of-candidates\r\n", true, 5},
	{"lf only, two sections", "a=ice-ufrag:abcd\nm=audio 9 UDP/TLS/RTP/SAVPF 111\na=mid:0\na=candidate:1 1 UDP 2130706431 127.0.0.1 5000 typ host\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:1\n", true, 1},
	{"media-level credentials, mdns", "m=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:v\na=ice-ufrag:x1\na=ice-pwd:yyyyyyyyyyyyyyyyyyyyyy\nc=IN IP4 0.0.0.0\na=candidate:9 1 udp 1 3f0a1e6c-1234.local 5555 typ host\n", true, 1},
	{"end only", "m=audio 9 RTP/AVP 0\r\na=mid:0\r\na=end-of-candidates\r\n", true, 1},
	{"session-level end", "a=ice-ufrag:abcd\r\na=end-of-candidates\r\n", true, 1},
	{"other attributes ignored", "a=ice-options:trickle\r\na=group:BUNDLE 0\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=rtcp-mux\r\n", true, 0},
	{"empty", "", false, 0},
	{"no media", "a=ice-ufrag:abcd\r\na=ice-pwd:xyz\r\n", false, 0},
	{"not sdp", "hello", false, 0},
	{"candidate outside media", "a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\nm=audio 9 RTP/AVP 0\r\n", false, 0},
	{"short candidate", "m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 127.0.0.1 5000\r\n", false, 0},
	{"bad port", "m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 127.0.0.1 99999 typ host\r\n", false, 0},
	{"bad type", "m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 127.0.0.1 5000 typ bogus\r\n", false, 0},
	{"bad transport", "m=audio 9 RTP/AVP 0\r\na=candidate:1 1 sctp 1 127.0.0.1 5000 typ host\r\n", false, 0},
	{"two ufrags", "a=ice-ufrag:a\r\nm=audio 9 RTP/AVP 0\r\na=ice-ufrag:b\r\n", false, 0},
	{"full sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n", false, 0},
	{"short m line", "m=audio\r\n", false, 0},
	{"mid outside media", "a=mid:0\r\nm=audio 9 RTP/AVP 0\r\n", false, 0},
	{"control characters", "a=ice-ufrag:a\x01b\r\nm=audio 9 RTP/AVP 0\r\n", false, 0},
}

func TestParseTrickleFrag(t *testing.T) {
	for _, c := range trickleFragCases {
		t.Run(c.name, func(t *testing.T) {
			f, err := parseTrickleFrag(c.body)
			if (err == nil) != c.ok {
				t.Fatalf("err %v, want ok=%v", err, c.ok)
			}
			if err != nil {
				return
			}
			if n := len(f.candidates()); n != c.cands {
				t.Errorf("%d candidates, want %d", n, c.cands)
			}
			g, err := parseTrickleFrag(f.String())
			if err != nil || !reflect.DeepEqual(f, g) {
				t.Errorf("round trip: %+v, %v; want %+v", g, err, f)
			}
		})
	}
}

// FuzzTrickleFrag: any body parses or fails cleanly, and a parsed
// fragment encodes to one that parses the same.
func FuzzTrickleFrag(f *testing.F) {
	for _, c := range trickleFragCases {
		f.Add(c.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		frag, err := parseTrickleFrag(body)
		if err != nil {
			return
		}
		again, err := parseTrickleFrag(frag.String())
		if err != nil {
			t.Fatalf("re-encoded fragment %q does not parse: %v", frag.String(), err)
		}
		if !reflect.DeepEqual(frag, again) {
			t.Fatalf("round trip changed %+v to %+v", frag, again)
		}
		_ = frag.candidates()
	})
}

// tricklePeer is a pion peer on loopback that sends its offer without
// candidates and trickles them afterwards.
type tricklePeer struct {
	pc    *pwebrtc.PeerConnection
	cands chan string
}

func newTricklePeer(t *testing.T) *tricklePeer {
	t.Helper()
	m := &pwebrtc.MediaEngine{}
	roomMust(t, m.RegisterDefaultCodecs())
	ir := &interceptor.Registry{}
	roomMust(t, pwebrtc.RegisterDefaultInterceptors(m, ir))
	se := pwebrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIPFilter(net.IP.IsLoopback)
	se.SetNetworkTypes([]pwebrtc.NetworkType{pwebrtc.NetworkTypeUDP4})
	pc, err := pwebrtc.NewAPI(pwebrtc.WithMediaEngine(m), pwebrtc.WithSettingEngine(se), pwebrtc.WithInterceptorRegistry(ir)).
		NewPeerConnection(pwebrtc.Configuration{})
	roomMust(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	p := &tricklePeer{pc: pc, cands: make(chan string, 64)}
	pc.OnICECandidate(func(c *pwebrtc.ICECandidate) {
		if c == nil {
			close(p.cands)
			return
		}
		p.cands <- c.ToJSON().Candidate
	})
	return p
}

// offer sets the local offer and returns it without candidates.
func (p *tricklePeer) offer(t *testing.T) string {
	t.Helper()
	o, err := p.pc.CreateOffer(nil)
	roomMust(t, err)
	roomMust(t, p.pc.SetLocalDescription(o))
	return stripCandidates(o.SDP)
}

// answer applies the server's answer with its candidates removed, so the
// connection can only come up through the candidates PATCHed to it.
func (p *tricklePeer) answer(t *testing.T, sdp string) {
	t.Helper()
	roomMust(t, p.pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: stripCandidates(sdp)}))
}

// frag waits for gathering and builds the fragment of every candidate.
func (p *tricklePeer) frag(t *testing.T) string {
	t.Helper()
	var lines []string
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case c, ok := <-p.cands:
			if !ok {
				done = true
				break
			}
			lines = append(lines, "a="+c)
		case <-timeout:
			t.Fatal("gathering did not finish")
		}
	}
	if len(lines) == 0 {
		t.Fatal("no local candidates")
	}
	sdp := p.pc.LocalDescription().SDP
	attr := func(k string) string {
		for _, l := range strings.Split(sdp, "\r\n") {
			if v, ok := strings.CutPrefix(l, "a="+k+":"); ok {
				return v
			}
		}
		return ""
	}
	mline := ""
	for _, l := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(l, "m=") {
			mline = l
			break
		}
	}
	return strings.Join(append([]string{"a=ice-ufrag:" + attr("ice-ufrag"), "a=ice-pwd:" + attr("ice-pwd"),
		mline, "a=mid:" + attr("mid")}, append(lines, "a=end-of-candidates")...), "\r\n") + "\r\n"
}

func stripCandidates(sdp string) string {
	var out []string
	for _, l := range strings.Split(sdp, "\r\n") {
		if !strings.HasPrefix(l, "a=candidate:") && !strings.HasPrefix(l, "a=end-of-candidates") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n")
}

// sdpRequest sends an SDP-ish request with headers and returns status,
// headers and body.
func sdpRequest(t *testing.T, base, method, path, token, ctype, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	roomMust(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	roomMust(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// TestWHEPTrickle: a viewer whose offer has no candidates, and which does
// not use the answer's, receives video once it PATCHes its candidates;
// bad fragments, strangers and ICE restarts are refused.
func TestWHEPTrickle(t *testing.T) {
	e := newWHEPEnv(t)
	v := newTricklePeer(t)
	for _, k := range []pwebrtc.RTPCodecType{pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPCodecTypeAudio} {
		_, err := v.pc.AddTransceiverFromKind(k, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly})
		roomMust(t, err)
	}
	frames := make(chan struct{}, 1)
	v.pc.OnTrack(func(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if p.Marker && tr.Kind() == pwebrtc.RTPCodecTypeVideo {
				select {
				case frames <- struct{}{}:
				default:
				}
			}
		}
	})
	code, hdr, answer := sdpRequest(t, e.srv.URL, "POST", "/whep/demo/1", "good", "application/sdp", v.offer(t))
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, answer)
	}
	loc, etag := hdr.Get("Location"), hdr.Get("ETag")
	v.answer(t, answer)
	frag := v.frag(t)

	for _, c := range []struct {
		name, token, ctype, body string
		hdr                      []string
		want                     int
	}{
		{"no token", "", trickleFragType, frag, nil, 401},
		{"another user", "other", trickleFragType, frag, nil, 403},
		{"wrong type", "good", "application/sdp", frag, nil, 415},
		{"bad fragment", "good", trickleFragType, "a=candidate:x\r\n", nil, 400},
		{"stale etag", "good", trickleFragType, frag, []string{"If-Match", `"nope"`}, 412},
		{"ice restart", "good", trickleFragType, frag, []string{"If-Match", "*"}, 422},
		{"other credentials", "good", trickleFragType, strings.Replace(frag, "a=ice-ufrag:", "a=ice-ufrag:zz", 1), nil, 422},
	} {
		if code, _, body := sdpRequest(t, e.srv.URL, "PATCH", loc, c.token, c.ctype, c.body, c.hdr...); code != c.want {
			t.Errorf("%s: PATCH %d %s, want %d", c.name, code, body, c.want)
		}
	}
	if code, _, body := sdpRequest(t, e.srv.URL, "PATCH", "/whep/sessions/0123456789abcdef", "good", trickleFragType, frag); code != 404 {
		t.Errorf("unknown session: %d %s", code, body)
	}
	select {
	case <-frames:
		t.Fatal("video before any candidate was trickled: the test proves nothing")
	case <-time.After(300 * time.Millisecond):
	}
	if code, _, body := sdpRequest(t, e.srv.URL, "PATCH", loc, "good", trickleFragType, frag, "If-Match", etag); code != http.StatusNoContent {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	select {
	case <-frames:
	case <-time.After(15 * time.Second):
		t.Fatal("no video within 15 s of trickling the candidates")
	}
	code, hdr, _ = sdpRequest(t, e.srv.URL, "OPTIONS", loc, "", "", "")
	if code != 204 || !strings.Contains(hdr.Get("Allow"), "PATCH") || hdr.Get("Accept-Patch") != trickleFragType {
		t.Errorf("OPTIONS on the session: %d %v", code, hdr)
	}
	if code, _, _ := sdpRequest(t, e.srv.URL, "DELETE", loc, "good", "", ""); code != http.StatusNoContent {
		t.Errorf("DELETE: %d", code)
	}
}

// TestWHIPTrickle: a publisher that trickles its candidates (and ignores
// the answer's) gets its stream online.
func TestWHIPTrickle(t *testing.T) {
	e := newRoomsEnv(t)
	p := newTricklePeer(t)
	pionPublisherOn(t, t.Context(), p.pc)
	code, hdr, answer := sdpRequest(t, e.srv.URL, "POST", "/whip/live/trickle", "op", "application/sdp", p.offer(t))
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, answer)
	}
	loc := hdr.Get("Location")
	p.answer(t, answer)
	frag := p.frag(t)
	if code, _, body := sdpRequest(t, e.srv.URL, "PATCH", loc, "leader", trickleFragType, frag); code != 403 {
		t.Errorf("PATCH by another user: %d %s", code, body)
	}
	if code, _, body := sdpRequest(t, e.srv.URL, "PATCH", loc, "op", trickleFragType, "m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 127.0.0.1 0 typ nope\r\n"); code != 400 {
		t.Errorf("bad candidate: %d %s", code, body)
	}
	if code, _, body := sdpRequest(t, e.srv.URL, "PATCH", loc, "op", trickleFragType, frag, "If-Match", hdr.Get("ETag")); code != http.StatusNoContent {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	waitUntil(t, 15*time.Second, "the trickled publisher's stream online", func() bool {
		in, ok := e.hub.Info("live/trickle")
		return ok && in.Online
	})
}
