package gb28181

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pingan/configs"
	"pingan/internal/store"
	"pingan/internal/store/bolt"
	"pingan/internal/testutil"
)

const (
	testPlatform = "34020000002000000001"
	testDomain   = "3402000000"
	testPassword = "Pa55word"
)

// fakeClock is a settable Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 8, 14, 2, 11, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testServer is a running Server on a loopback port.
type testServer struct {
	*Server
	addr  string
	store store.Store
	clock *fakeClock
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("GB_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func testConfig(port int, clock Clock) Config {
	return Config{
		SIP: configs.SIPConfig{
			Addr: fmt.Sprintf("127.0.0.1:%d", port), IP: "127.0.0.1", ID: testPlatform, Domain: testDomain,
			Password: testPassword, RegisterExpires: configs.Duration(time.Hour),
			KeepaliveInterval: configs.Duration(60 * time.Second), KeepaliveMissed: 3,
			CatalogTimeout: configs.Duration(400 * time.Millisecond),
		},
		QueryTimeout:  time.Second,
		SweepInterval: time.Hour, // tests call sweep themselves
		Location:      time.UTC,
		Clock:         clock,
	}
}

// startServer runs a Server until the test ends. mod adjusts the config.
func startServer(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	clock := newFakeClock()
	port := testutil.FreeUDPTCPPort(t)
	cfg := testConfig(port, clock)
	if mod != nil {
		mod(&cfg)
	}
	st := newTestStore(t)
	s, err := New(cfg, st, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second): // generous: gosip's TCP shutdown is slow on a loaded CI box
			t.Error("Run did not return")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for s.SIP() == nil {
		if time.Now().After(deadline) {
			t.Fatal("server did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &testServer{Server: s, addr: cfg.SIP.Addr, store: st, clock: clock}
}

// newTestStore opens the embedded bolt backend in a temp dir; with
// GB_TEST_STORE=mem the in-memory fake instead.
func newTestStore(t *testing.T) store.Store {
	t.Helper()
	if os.Getenv("GB_TEST_STORE") == "mem" {
		return newMemStore()
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "pingan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// sipMsg is a parsed SIP message as a test UA sees it.
type sipMsg struct {
	first  string // request line or status line
	hdr    textproto.MIMEHeader
	body   []byte
	status int    // responses
	method string // requests
}

func parseSIP(b []byte) (*sipMsg, error) {
	head, body, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(head, "\r\n\r\n"...))))
	first, err := r.ReadLine()
	if err != nil {
		return nil, err
	}
	hdr, err := r.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return nil, err
	}
	m := &sipMsg{first: first, hdr: hdr, body: body}
	if rest, ok := strings.CutPrefix(first, "SIP/2.0 "); ok {
		m.status, _ = strconv.Atoi(strings.SplitN(rest, " ", 2)[0])
	} else {
		m.method = strings.SplitN(first, " ", 2)[0]
	}
	return m, nil
}

// testUA is a hand-made device on raw UDP: it composes its own messages,
// so nothing of gosip sits on the device side.
type testUA struct {
	t        *testing.T
	id       string
	password string
	network  string // udp or tcp
	conn     net.Conn
	server   *net.UDPAddr
	waiting  map[string]chan *sipMsg // Call-ID → final responses
	mu       sync.Mutex
	onReq    func(ua *testUA, m *sipMsg) // answers server requests; default 200
	cseq     int
	callID   string
	reqs     chan *sipMsg // every server request, for assertions
	branches map[string]bool
	closed   atomic.Bool
}

func newUA(t *testing.T, serverAddr, id string) *testUA { return newUAOn(t, "udp", serverAddr, id) }

func newUAOn(t *testing.T, network, serverAddr, id string) *testUA {
	t.Helper()
	srv, err := net.ResolveUDPAddr("udp", serverAddr)
	if err != nil {
		t.Fatal(err)
	}
	var conn net.Conn
	if network == "tcp" {
		conn, err = net.Dial("tcp", serverAddr)
	} else {
		conn, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	}
	if err != nil {
		t.Fatal(err)
	}
	ua := &testUA{
		t: t, id: id, password: testPassword, network: network, conn: conn, server: srv,
		waiting: map[string]chan *sipMsg{}, reqs: make(chan *sipMsg, 256), callID: randomToken(8),
		branches: map[string]bool{},
	}
	done := make(chan struct{})
	go ua.read(done)
	t.Cleanup(func() { ua.closed.Store(true); conn.Close(); <-done })
	return ua
}

func (ua *testUA) addr() string { return ua.conn.LocalAddr().String() }

// next reads one message: a datagram, or a Content-Length framed TCP message.
func (ua *testUA) next(br *bufio.Reader, buf []byte) (*sipMsg, error) {
	if ua.network != "tcp" {
		n, err := ua.conn.Read(buf)
		if err != nil {
			return nil, err
		}
		return parseSIP(append([]byte(nil), buf[:n]...))
	}
	var head bytes.Buffer
	for !bytes.HasSuffix(head.Bytes(), []byte("\r\n\r\n")) {
		b, err := br.ReadByte()
		if err != nil {
			return nil, err
		}
		head.WriteByte(b)
	}
	m, err := parseSIP(head.Bytes())
	if err != nil {
		return nil, err
	}
	n, _ := strconv.Atoi(m.hdr.Get("Content-Length"))
	m.body = make([]byte, n)
	_, err = io.ReadFull(br, m.body)
	return m, err
}

func (ua *testUA) read(done chan struct{}) {
	defer close(done)
	buf := make([]byte, 65536)
	br := bufio.NewReader(ua.conn)
	for {
		m, err := ua.next(br, buf)
		if err != nil {
			if ua.network == "tcp" || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if m.status > 0 {
			if m.status >= 200 {
				ua.mu.Lock()
				ch := ua.waiting[m.hdr.Get("Call-ID")]
				ua.mu.Unlock()
				if ch != nil {
					select {
					case ch <- m:
					default:
					}
				}
			}
			continue
		}
		ua.mu.Lock()
		h := ua.onReq
		via := m.hdr.Get("Via")
		retrans := ua.branches[via]
		ua.branches[via] = true
		ua.mu.Unlock()
		if retrans { // a retransmission: answer again, act once
			ua.respond(m, 200, "")
			continue
		}
		select {
		case ua.reqs <- m:
		default:
		}
		if h != nil {
			h(ua, m)
		} else {
			ua.respond(m, 200, "")
		}
	}
}

func (ua *testUA) handle(h func(ua *testUA, m *sipMsg)) {
	ua.mu.Lock()
	ua.onReq = h
	ua.mu.Unlock()
}

func (ua *testUA) send(s string) {
	var err error
	if u, ok := ua.conn.(*net.UDPConn); ok {
		_, err = u.WriteToUDP([]byte(s), ua.server)
	} else {
		_, err = ua.conn.Write([]byte(s))
	}
	if err != nil && !ua.closed.Load() {
		ua.t.Errorf("send: %v", err)
	}
}

// respond answers a server request.
func (ua *testUA) respond(m *sipMsg, code int, extra string) {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, map[int]string{200: "OK"}[code])
	for _, v := range m.hdr.Values("Via") {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s;tag=ua%s\r\nCall-ID: %s\r\nCSeq: %s\r\n%sContent-Length: 0\r\n\r\n",
		m.hdr.Get("From"), m.hdr.Get("To"), ua.id[16:], m.hdr.Get("Call-ID"), m.hdr.Get("CSeq"), extra)
	ua.send(b.String())
}

// request sends a request with a fresh transaction and waits for its final response.
func (ua *testUA) request(method string, extra string, body []byte, callID string) *sipMsg {
	ua.t.Helper()
	ua.mu.Lock()
	ua.cseq++
	cseq := ua.cseq
	ua.mu.Unlock()
	to := testPlatform
	if method == "REGISTER" {
		to = ua.id
	}
	ct := ""
	if len(body) > 0 {
		ct = "Content-Type: Application/MANSCDP+xml\r\n"
	}
	msg := fmt.Sprintf("%s sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/%s %s;rport;branch=z9hG4bK%s\r\n"+
		"From: <sip:%s@%s>;tag=t%s\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"+
		"Contact: <sip:%s@%s>\r\nMax-Forwards: 70\r\n%s%sContent-Length: %d\r\n\r\n",
		method, testPlatform, testDomain, strings.ToUpper(ua.network), ua.addr(), randomToken(6), ua.id, testDomain, ua.id[16:],
		to, testDomain, callID, cseq, method, ua.id, ua.addr(), extra, ct, len(body))
	ch := make(chan *sipMsg, 4)
	ua.mu.Lock()
	ua.waiting[callID] = ch
	ua.mu.Unlock()
	defer func() {
		ua.mu.Lock()
		delete(ua.waiting, callID)
		ua.mu.Unlock()
	}()
	ua.send(msg + string(body))
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		if !ua.closed.Load() {
			ua.t.Errorf("no response from server to %s", method)
		}
		return &sipMsg{hdr: textproto.MIMEHeader{}}
	}
}

// register registers with digest and returns the final response.
func (ua *testUA) register(expires int) *sipMsg {
	ua.t.Helper()
	ex := fmt.Sprintf("Expires: %d\r\n", expires)
	res := ua.request("REGISTER", ex, nil, ua.callID)
	if res.status != 401 {
		return res
	}
	return ua.request("REGISTER", ex+ua.authorization(res, "REGISTER"), nil, ua.callID)
}

// authorization answers a 401 challenge.
func (ua *testUA) authorization(res *sipMsg, method string) string {
	ch := res.hdr.Get("Www-Authenticate")
	nonce := between(ch, `nonce="`, `"`)
	realm := between(ch, `realm="`, `"`)
	uri := "sip:" + testPlatform + "@" + testDomain
	c := digestCreds{Username: ua.id, Realm: realm, Nonce: nonce, URI: uri}
	resp := digestResponse(c, ua.password, method)
	return fmt.Sprintf("Authorization: Digest username=\"%s\",realm=\"%s\",nonce=\"%s\",uri=\"%s\",response=\"%s\",algorithm=MD5\r\n",
		ua.id, realm, nonce, uri, resp)
}

// message sends a MESSAGE with a MANSCDP body.
func (ua *testUA) message(body []byte) *sipMsg {
	ua.t.Helper()
	return ua.request("MESSAGE", "", body, randomToken(8))
}

// waitRequest waits for a server request whose body contains substr.
func (ua *testUA) waitRequest(method, substr string, timeout time.Duration) *sipMsg {
	ua.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-ua.reqs:
			if m.method == method && strings.Contains(string(m.body), substr) {
				return m
			}
		case <-deadline:
			ua.t.Fatalf("no %s containing %q", method, substr)
			return nil
		}
	}
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

// snOf reads the SN of a MANSCDP body.
func snOf(body []byte) string { return between(string(body), "<SN>", "</SN>") }

// waitFor polls cond until it holds or the test times out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
