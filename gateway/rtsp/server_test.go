package rtsp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/conn"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"

	"pingan/internal/sample"
	"pingan/media"
)

// (a) ffmpeg publishes H.264 + A-law over RTSP/TCP with credentials; a hub
// reader gets units starting with a keyframe.
func TestServerPublishFFmpeg(t *testing.T) {
	ffmpeg := needTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hub := newTestHub(t)
	_, addr := startServer(t, hub, testAuth, "127.0.0.1:0")

	runFFmpegPublisher(ctx, t, ffmpeg, "rtsp://op:secret@"+addr+"/live/cam1")

	r := subscribeWait(ctx, t, hub, "live/cam1")
	tracks := r.Tracks()
	if len(tracks) != 2 || tracks[0].Codec != media.H264 || tracks[1].Codec != media.PCMA {
		t.Fatalf("tracks = %v, want H264 + PCMA", codecsOf(tracks))
	}
	video := nextUnits(ctx, t, r, 0, 30)
	if !video[0].Keyframe {
		t.Fatal("first video unit is not a keyframe")
	}
	for i := 1; i < len(video); i++ {
		if video[i].PTS <= video[i-1].PTS {
			t.Fatalf("video PTS not increasing at %d: %d then %d", i, video[i-1].PTS, video[i].PTS)
		}
	}
	audio := nextUnits(ctx, t, r, 1, 5)
	if len(audio[0].Payload) == 0 {
		t.Fatal("empty audio unit")
	}
}

// A second publisher to the same stream is refused; a user who may only
// read cannot publish.
func TestServerPublishRefused(t *testing.T) {
	hub := newTestHub(t)
	_, addr := startServer(t, hub, testAuth, "127.0.0.1:0")
	publishSample(t, hub, "live/busy", false)

	for _, tc := range []struct{ name, userinfo, path string }{
		{"busy", "op:secret", "live/busy"},
		{"reader only", "viewer:view", "live/other"},
		{"bad password", "op:wrong", "live/other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := gortsplibPublish(t, "rtsp://"+tc.userinfo+"@"+addr+"/"+tc.path)
			if err == nil {
				t.Fatal("publish succeeded")
			}
		})
	}
}

// (b) ffprobe reads a hub stream over RTSP with credentials; without them it fails.
func TestServerReadFFprobe(t *testing.T) {
	ffprobe := needTool(t, "ffprobe")
	hub := newTestHub(t)
	_, addr := startServer(t, hub, testAuth, "127.0.0.1:0")
	publishSample(t, hub, "demo/probe", true)

	codecs, err := probe(t, ffprobe, "rtsp://viewer:view@"+addr+"/demo/probe")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(codecs, "h264") || !slices.Contains(codecs, "pcm_alaw") {
		t.Fatalf("ffprobe codecs = %v, want h264 and pcm_alaw", codecs)
	}
	for _, u := range []string{"rtsp://" + addr + "/demo/probe", "rtsp://viewer:nope@" + addr + "/demo/probe"} {
		if codecs, err := probe(t, ffprobe, u); err == nil {
			t.Fatalf("ffprobe %s without valid credentials succeeded: %v", u, codecs)
		}
	}
}

// Two gortsplib readers share one outStream; the first video they get
// starts with a keyframe (GOP cache); the outStream ends when both leave.
func TestServerReadShared(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hub := newTestHub(t)
	srv, addr := startServer(t, hub, testAuth, "127.0.0.1:0")
	publishSample(t, hub, "demo/shared", true)

	var clients []*gortsplib.Client
	for i := range 2 {
		c, firstAU := playH264(t, "rtsp://op:secret@"+addr+"/demo/shared")
		clients = append(clients, c)
		select {
		case au := <-firstAU:
			// The first reader gets the GOP cache; the second joins the
			// shared stream mid-GOP.
			if i == 0 && !h264.IsRandomAccess(au) {
				t.Fatal("first access unit is not a keyframe")
			}
		case <-ctx.Done():
			t.Fatal("no video received")
		}
	}
	if n := outStreams(srv); n != 1 {
		t.Fatalf("%d out streams, want 1 shared", n)
	}
	for _, c := range clients {
		c.Close()
	}
	waitFor(ctx, t, "out stream released", func() bool { return outStreams(srv) == 0 })
}

// Missing credentials get a Basic challenge and keep the connection; bad
// ones get 401, a reader-only user publishing gets 403; unknown streams 404.
func TestServerAuthResponses(t *testing.T) {
	hub := newTestHub(t)
	_, addr := startServer(t, hub, testAuth, "127.0.0.1:0")
	publishSample(t, hub, "demo/auth", false)

	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	rc := conn.NewConn(nc)
	cseq := 0
	do := func(method base.Method, path, authz string, body []byte) *base.Response {
		t.Helper()
		cseq++
		u, _ := base.ParseURL("rtsp://" + addr + "/" + path)
		req := &base.Request{Method: method, URL: u, Header: base.Header{"CSeq": {fmt.Sprint(cseq)}}, Body: body}
		if authz != "" {
			req.Header["Authorization"] = base.HeaderValue{authz}
		}
		if body != nil {
			req.Header["Content-Type"] = base.HeaderValue{"application/sdp"}
		}
		if err := rc.WriteRequest(req); err != nil {
			t.Fatal(err)
		}
		res, err := rc.ReadResponse()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	res := do(base.Describe, "demo/auth", "", nil)
	if res.StatusCode != base.StatusUnauthorized ||
		!slices.Equal(res.Header["WWW-Authenticate"], base.HeaderValue{`Basic realm="pingan"`}) {
		t.Fatalf("no credentials: %d %v", res.StatusCode, res.Header["WWW-Authenticate"])
	}
	if res = do(base.Describe, "demo/auth", basicAuthValue("viewer", "view"), nil); res.StatusCode != base.StatusOK {
		t.Fatalf("good credentials on the same connection: %d", res.StatusCode)
	}
	if res = do(base.Describe, "demo/none", basicAuthValue("viewer", "view"), nil); res.StatusCode != base.StatusNotFound {
		t.Fatalf("unknown stream: %d", res.StatusCode)
	}
	sdp := sampleSDP(t)
	if res = do(base.Announce, "live/x", basicAuthValue("viewer", "view"), sdp); res.StatusCode != base.StatusForbidden {
		t.Fatalf("reader publishing: %d", res.StatusCode)
	}

	nc2, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	_ = nc2.SetDeadline(time.Now().Add(10 * time.Second))
	rc = conn.NewConn(nc2)
	if res = do(base.Describe, "demo/auth", basicAuthValue("viewer", "bad"), nil); res.StatusCode != base.StatusUnauthorized {
		t.Fatalf("bad credentials: %d", res.StatusCode)
	}
}

func TestStreamID(t *testing.T) {
	for _, tc := range []struct {
		path string
		want media.StreamID
		ok   bool
	}{
		{"/live/cam1", "live/cam1", true},
		{"/live/cam1/", "live/cam1", true},
		{"/rtsp/gate", "rtsp/gate", true},
		{"/", "", false},
		{"", "", false},
		{"/a//b", "", false},
		{"/a/../b", "", false},
	} {
		got, ok := streamID(tc.path)
		if got != tc.want || ok != tc.ok {
			t.Errorf("streamID(%q) = %q, %v; want %q, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNewServerValidates(t *testing.T) {
	hub := newTestHub(t)
	for _, cfg := range []ServerConfig{
		{Hub: hub},
		{Addr: ":0"},
		{Addr: ":0", Hub: hub, UDPRTPAddr: ":8000"},
	} {
		if _, err := NewServer(cfg); err == nil {
			t.Errorf("NewServer(%+v) accepted", cfg)
		}
	}
}

// --- helpers ---

func runFFmpegPublisher(ctx context.Context, t *testing.T, ffmpeg, url string) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
		"-re", "-stream_loop", "-1", "-f", "h264", "-framerate", "25", "-i", samplePath(t, "demo.h264"),
		"-re", "-stream_loop", "-1", "-f", "alaw", "-ar", "8000", "-ac", "1", "-i", samplePath(t, "demo.alaw"),
		"-map", "0:v", "-map", "1:a", "-c", "copy",
		"-rtsp_transport", "tcp", "-f", "rtsp", url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("ffmpeg stderr:\n%s", stderr.String())
		}
	})
}

func probe(t *testing.T, ffprobe, url string) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffprobe, "-v", "error", "-rtsp_transport", "tcp",
		"-show_entries", "stream=codec_name", "-of", "json", url).Output()
	if err != nil {
		return nil, fmt.Errorf("ffprobe: %w", err)
	}
	var res struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("ffprobe output %q: %w", out, err)
	}
	var codecs []string
	for _, s := range res.Streams {
		codecs = append(codecs, s.CodecName)
	}
	return codecs, nil
}

// playH264 plays url with a gortsplib client over TCP and returns the first
// decoded H.264 access unit on the channel.
func playH264(t *testing.T, url string) (*gortsplib.Client, <-chan [][]byte) {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{
		Scheme: u.Scheme, Host: u.Host, Transport: &tcp,
		OnPacketsLost: func(uint64) {}, OnDecodeError: func(error) {}, OnTransportSwitch: func(error) {},
	}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatal(err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		t.Fatal("no H.264 media")
	}
	dec, err := forma.CreateDecoder()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		t.Fatal(err)
	}
	first := make(chan [][]byte, 1)
	var once sync.Once
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		au, err := dec.Decode(pkt)
		if err == nil {
			once.Do(func() { first <- au })
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	return c, first
}

// gortsplibPublish announces the sample's H.264 track to url and records.
func gortsplibPublish(t *testing.T, url string) error {
	t.Helper()
	desc := &description.Session{Medias: []*description.Media{{
		Type:    description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}},
	}}}
	c := &gortsplib.Client{OnPacketsLost: func(uint64) {}, OnDecodeError: func(error) {}, OnTransportSwitch: func(error) {}}
	tcp := gortsplib.TransportTCP
	c.Transport = &tcp
	if err := c.StartRecording(url, desc); err != nil {
		return err
	}
	c.Close()
	return nil
}

func sampleSDP(t *testing.T) []byte {
	t.Helper()
	desc := &description.Session{Medias: []*description.Media{{
		Type:    description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}},
	}}}
	b, err := desc.Marshal(false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func outStreams(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.outs)
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func codecsOf(tracks []*media.Track) []media.Codec {
	var out []media.Codec
	for _, t := range tracks {
		out = append(out, t.Codec)
	}
	return out
}

// A gortsplib publisher's packets reach a hub reader as units; when the
// publisher leaves, the stream ends for its readers.
func TestServerPublishGortsplib(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hub := newTestHub(t)
	_, addr := startServer(t, hub, testAuth, "127.0.0.1:0")

	forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	desc := &description.Session{Medias: []*description.Media{{
		Type: description.MediaTypeVideo, Formats: []format.Format{forma},
	}}}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Transport: &tcp,
		OnPacketsLost: func(uint64) {}, OnDecodeError: func(error) {}, OnTransportSwitch: func(error) {}}
	if err := c.StartRecording("rtsp://op:secret@"+addr+"/live/gortsplib", desc); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	enc, err := forma.CreateEncoder()
	if err != nil {
		t.Fatal(err)
	}
	frames := sampleFrames(t)
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := 0; ; i++ {
			pkts, err := enc.Encode(frames[i%len(frames)].NALUs)
			if err != nil {
				return
			}
			for _, p := range pkts {
				p.Timestamp = uint32(i * 3600)
				if c.WritePacketRTP(desc.Medias[0], p) != nil {
					return
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()

	r := subscribeWait(ctx, t, hub, "live/gortsplib")
	units := nextUnits(ctx, t, r, 0, 20)
	if !units[0].Keyframe || units[1].PTS-units[0].PTS != 3600 {
		t.Fatalf("first unit keyframe=%v, PTS step %d", units[0].Keyframe, units[1].PTS-units[0].PTS)
	}
	close(stop)
	<-sent
	c.Close()
	for {
		if _, err := r.Next(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("stream did not end after the publisher left")
			}
			break
		}
	}
}

// When the hub stream ends, its RTSP readers are disconnected and the
// outStream is gone.
func TestServerReadStreamEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hub := newTestHub(t)
	srv, addr := startServer(t, hub, nil, "127.0.0.1:0")
	stopSample := startSample(t, hub, "demo/ends", false)
	defer stopSample()

	c, first := playH264(t, "rtsp://"+addr+"/demo/ends")
	select {
	case <-first:
	case <-ctx.Done():
		t.Fatal("no video")
	}
	stopSample()
	waited := make(chan error, 1)
	go func() { waited <- c.Wait() }()
	select {
	case <-waited:
	case <-ctx.Done():
		t.Fatal("reader still connected after the stream ended")
	}
	waitFor(ctx, t, "out stream gone", func() bool { return outStreams(srv) == 0 })
}

func sampleFrames(t *testing.T) []sample.Frame {
	t.Helper()
	frames, err := sample.Video()
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

// The SETUP after a DESCRIBE on the same connection reuses the DESCRIBE's
// authorization instead of checking the password again.
func TestServerAuthOncePerConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	calls := 0
	auth := fakeAuth{authorize: func(ctx context.Context, user, pass string, id media.StreamID, publish bool) error {
		mu.Lock()
		calls++
		mu.Unlock()
		return testAuth.AuthorizeRTSP(ctx, user, pass, id, publish)
	}}
	hub := newTestHub(t)
	_, addr := startServer(t, hub, auth, "127.0.0.1:0")
	publishSample(t, hub, "demo/once", true)
	_, first := playH264(t, "rtsp://op:secret@"+addr+"/demo/once")
	select {
	case <-first:
	case <-ctx.Done():
		t.Fatal("no video")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Fatalf("%d Authorizer calls for DESCRIBE + 2 SETUPs + PLAY, want 1", calls)
	}
}
