package signaling

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/auth"
	"pingan/internal/sample"
	"pingan/internal/testutil/peer"
	"pingan/media"
	"pingan/media/webrtc"
)

// testAuth maps fixed tokens to principals.
type testAuth struct{}

func (testAuth) Authenticate(_ context.Context, tok string) (auth.Principal, error) {
	switch tok {
	case "good":
		return auth.Principal{Username: "op", Role: auth.RoleOperator, Region: "14"}, nil
	case "other":
		return auth.Principal{Username: "op2", Role: auth.RoleOperator, Region: "14"}, nil
	}
	return auth.Principal{}, auth.ErrInvalidToken
}

// whepEnv is a hub publishing the sample as demo/1, a WebRTC engine and the
// WHEP and streams APIs on an httptest server.
type whepEnv struct {
	hub  *media.Hub
	eng  *webrtc.Engine
	whep *WHEPAPI
	srv  *httptest.Server
}

func newWHEPEnv(t testing.TB) *whepEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hub := media.NewHub(media.Config{})
	hubDone := make(chan struct{})
	go func() { _ = hub.Run(ctx); close(hubDone) }()
	st, err := hub.Publish("demo/1")
	if err != nil {
		t.Fatal(err)
	}
	publishSample(t, st)
	loopDone := make(chan struct{})
	go func() { _ = sample.Loop(ctx, streamSink{st}); close(loopDone) }()

	eng, err := webrtc.NewEngine(webrtc.Config{UDPPort: -1, TCPPort: -1, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	access := StreamAccessFunc(func(p auth.Principal, id media.StreamID) bool { return !strings.HasPrefix(string(id), "secret/") })
	w := &WHEPAPI{Streams: hub, Engine: eng, Access: access, Context: ctx, SubscribeTimeout: 2 * time.Second}
	rt := NewRouter(testAuth{}, 1<<20)
	w.Routes(rt)
	(&StreamsAPI{Hub: hub, Access: access}).Routes(rt)
	srv := httptest.NewServer(rt)
	t.Cleanup(func() {
		srv.Close()
		_ = eng.Close()
		cancel()
		<-loopDone
		<-hubDone
	})
	return &whepEnv{hub: hub, eng: eng, whep: w, srv: srv}
}

func publishSample(t testing.TB, st *media.Stream) {
	t.Helper()
	vid, err := sample.Video()
	if err != nil {
		t.Fatal(err)
	}
	var sps, pps []byte
	for _, n := range vid[0].NALUs {
		switch n[0] & 0x1f {
		case 7:
			sps = n
		case 8:
			pps = n
		}
	}
	st.SetTracks([]*media.Track{
		{Codec: media.H264, ClockRate: 90000, SPS: sps, PPS: pps, PayloadType: 96},
		{Codec: media.PCMA, ClockRate: 8000, PayloadType: 8},
	})
}

type streamSink struct{ s *media.Stream }

func (k streamSink) Video(f sample.Frame, pts int64) {
	// Write owns the unit and may compact NALUs in place: clone the shared sample slice.
	k.s.Write(&media.Unit{Track: 0, PTS: pts, Keyframe: f.Keyframe, NALUs: slices.Clone(f.NALUs)})
}

func (k streamSink) Audio(b []byte, pts int64) {
	k.s.Write(&media.Unit{Track: 1, PTS: pts, Payload: b})
}

func (e *whepEnv) do(t testing.TB, method, path, token, ctype, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// testViewer is a pion recvonly peer that counts what it receives.
type testViewer = peer.Viewer

func newTestViewer(t testing.TB) (*testViewer, string) {
	t.Helper()
	v, offer, err := peer.NewViewer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.PC.Close() })
	return v, offer
}

// keyframeStart reports whether an H.264 RTP payload starts a keyframe: SPS
// or IDR, a STAP-A with one, or the first FU-A fragment of one.
func keyframeStart(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	key := func(b byte) bool { t := b & 0x1f; return t == 7 || t == 5 }
	switch p[0] & 0x1f {
	case 24:
		return len(p) > 3 && key(p[3])
	case 28:
		return p[1]&0x80 != 0 && key(p[1])
	}
	return key(p[0])
}

func waitUntil(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWHEPEndToEnd(t *testing.T) {
	e := newWHEPEnv(t)
	v, offer := newTestViewer(t)
	res := e.do(t, http.MethodPost, "/whep/demo/1", "good", "application/sdp", offer)
	answer, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", res.StatusCode, answer)
	}
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "/whep/sessions/") || res.Header.Get("ETag") == "" ||
		res.Header.Get("Content-Type") != "application/sdp" {
		t.Fatalf("headers %v", res.Header)
	}
	if err := v.PC.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-v.FirstVideo:
		if !keyframeStart(p) {
			t.Fatalf("first video packet does not start a keyframe: % x", p[:min(len(p), 8)])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no video within 10 s")
	}
	n := v.Frames.Load()
	waitUntil(t, 5*time.Second, "frames to keep arriving", func() bool { return v.Frames.Load() >= n+25 && v.Audio.Load() > 0 })
	if info, _ := e.hub.Info("demo/1"); info.Readers != 1 {
		t.Errorf("readers %d, want 1", info.Readers)
	}

	// Another user cannot end the session; its owner can.
	if res := e.do(t, http.MethodDelete, loc, "other", "", ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE by another user: %d, want 404", res.StatusCode)
	}
	if res := e.do(t, http.MethodDelete, loc, "good", "", ""); res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", res.StatusCode)
	}
	waitUntil(t, 5*time.Second, "the reader to leave", func() bool {
		info, _ := e.hub.Info("demo/1")
		return info.Readers == 0
	})
	if e.whep.Sessions() != 0 || e.eng.Sessions() != 0 {
		t.Errorf("sessions left: api %d engine %d", e.whep.Sessions(), e.eng.Sessions())
	}
	if res := e.do(t, http.MethodDelete, loc, "good", "", ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", res.StatusCode)
	}
}

// whepErrorCases seed FuzzWHEPOffer too.
var whepErrorCases = []struct {
	name, method, path, token, ctype, body string
	want                                   int
}{
	{"no token", "POST", "/whep/demo/1", "", "application/sdp", "v=0", 401},
	{"bad token", "POST", "/whep/demo/1", "nope", "application/sdp", "v=0", 401},
	{"wrong content type", "POST", "/whep/demo/1", "good", "application/json", "{}", 415},
	{"out of scope", "POST", "/whep/secret/1", "good", "application/sdp", "v=0", 403},
	{"garbage sdp", "POST", "/whep/demo/1", "good", "application/sdp", "hello", 400},
	{"empty sdp", "POST", "/whep/demo/1", "good", "application/sdp", "", 400},
	{"no media", "POST", "/whep/demo/1", "good", "application/sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", 400},
	{"sendonly media", "POST", "/whep/demo/1", "good", "application/sdp",
		"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\na=rtpmap:96 H264/90000\r\n", 400},
	{"no ice credentials", "POST", "/whep/demo/1", "good", "application/sdp",
		"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\na=mid:0\r\na=rtpmap:96 H264/90000\r\n", 400},
	{"delete unknown", "DELETE", "/whep/sessions/0123", "good", "", "", 404},
	{"patch unknown", "PATCH", "/whep/sessions/0123", "good", "application/trickle-ice-sdpfrag", "a=x", 404},
	{"options", "OPTIONS", "/whep/demo/1", "", "", "", 204},
}

func TestWHEPErrors(t *testing.T) {
	e := newWHEPEnv(t)
	for _, c := range whepErrorCases {
		t.Run(c.name, func(t *testing.T) {
			res := e.do(t, c.method, c.path, c.token, c.ctype, c.body)
			if res.StatusCode != c.want {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, res.StatusCode, b, c.want)
			}
		})
	}
	t.Run("unknown stream", func(t *testing.T) {
		_, offer := newTestViewer(t)
		res := e.do(t, "POST", "/whep/nope/1", "good", "application/sdp", offer)
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown stream: %d, want 404", res.StatusCode)
		}
	})
	t.Run("patch takes trickle fragments", func(t *testing.T) {
		_, offer := newTestViewer(t)
		res := e.do(t, "POST", "/whep/demo/1", "good", "application/sdp", offer)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("POST: %d", res.StatusCode)
		}
		loc := res.Header.Get("Location")
		if res := e.do(t, "PATCH", loc, "good", "application/trickle-ice-sdpfrag", "a=end-of-candidates"); res.StatusCode != http.StatusNoContent {
			t.Errorf("PATCH: %d, want 204", res.StatusCode)
		}
		if res := e.do(t, "DELETE", loc, "good", "", ""); res.StatusCode != http.StatusNoContent {
			t.Errorf("DELETE: %d", res.StatusCode)
		}
	})
}

func TestStreamsAPI(t *testing.T) {
	e := newWHEPEnv(t)
	st, err := e.hub.Publish("secret/1")
	if err != nil {
		t.Fatal(err)
	}
	publishSample(t, st)
	waitUntil(t, 5*time.Second, "a bitrate", func() bool {
		info, _ := e.hub.Info("demo/1")
		return info.Bitrate > 0
	})
	res := e.do(t, "GET", "/api/v1/streams", "good", "", "")
	var list struct{ Streams []streamJSON }
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil || res.StatusCode != 200 {
		t.Fatalf("list: %d %v", res.StatusCode, err)
	}
	if len(list.Streams) != 1 || list.Streams[0].ID != "demo/1" || !list.Streams[0].Online ||
		len(list.Streams[0].Codecs) != 2 || list.Streams[0].Bitrate == 0 {
		t.Errorf("list %+v: want demo/1 only, online, 2 codecs, a bitrate", list.Streams)
	}
	if res := e.do(t, "GET", "/api/v1/streams/demo/1", "good", "", ""); res.StatusCode != 200 {
		t.Errorf("get demo/1: %d", res.StatusCode)
	}
	for _, p := range []string{"/api/v1/streams/secret/1", "/api/v1/streams/nope"} {
		if res := e.do(t, "GET", p, "good", "", ""); res.StatusCode != 404 {
			t.Errorf("get %s: %d, want 404", p, res.StatusCode)
		}
	}
	if res := e.do(t, "GET", "/api/v1/streams", "", "", ""); res.StatusCode != 401 {
		t.Errorf("list without token: %d, want 401", res.StatusCode)
	}
}

func FuzzWHEPOffer(f *testing.F) {
	for _, c := range whepErrorCases {
		f.Add(c.body)
	}
	_, offer := newTestViewer(f)
	f.Add(offer)
	f.Add(strings.ReplaceAll(offer, "H264", "H266"))
	f.Add(strings.ReplaceAll(offer, "a=ice-ufrag", "a=ice-frag"))
	e := newWHEPEnv(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/whep/demo/1", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer good")
		req.Header.Set("Content-Type", "application/sdp")
		rec := httptest.NewRecorder()
		e.srv.Config.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if loc := rec.Header().Get("Location"); rec.Code == http.StatusCreated {
			del := httptest.NewRequest("DELETE", loc, nil)
			del.Header.Set("Authorization", "Bearer good")
			e.srv.Config.Handler.ServeHTTP(httptest.NewRecorder(), del)
		}
	})
}
