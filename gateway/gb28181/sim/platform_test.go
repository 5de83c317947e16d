package sim

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghettovoice/gosip"
	"github.com/ghettovoice/gosip/sip"

	"pingan/gateway/gb28181/manscdp"
)

const (
	testPlatform = "14010500002000000001"
	testDomain   = "1401050000"
	testDevice   = "14010500001320000001"
	testPassword = "Pa55word"
)

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// platform is a tiny GB28181 registrar for the tests: digest REGISTER,
// MESSAGE collection, and requests to the devices.
type platform struct {
	t         *testing.T
	srv       gosip.Server
	addr      string
	transport string

	mu      sync.Mutex
	sources map[string]string // device id → where it registered from
	nonce   string

	registered   chan string
	unregistered chan string
	rejected     chan string
	keepalives   chan string
	responses    chan *manscdp.Message
	byes         chan string
}

func newPlatform(t *testing.T, transport string) *platform {
	t.Helper()
	port, err := freePort("127.0.0.1", transport)
	if err != nil {
		t.Fatal(err)
	}
	p := &platform{
		t: t, transport: strings.ToUpper(transport), addr: "127.0.0.1:" + strconv.Itoa(port),
		sources: map[string]string{}, nonce: randToken(16),
		registered: make(chan string, 1000), unregistered: make(chan string, 1000), rejected: make(chan string, 100),
		keepalives: make(chan string, 1000), responses: make(chan *manscdp.Message, 1000), byes: make(chan string, 10),
	}
	p.srv = gosip.NewServer(gosip.ServerConfig{Host: "127.0.0.1"}, nil, gatedTxLayer, sipLogger{log: slog.New(slog.DiscardHandler)})
	p.srv.OnRequest(sip.REGISTER, p.onRegister)
	p.srv.OnRequest(sip.MESSAGE, p.onMessage)
	p.srv.OnRequest(sip.BYE, func(req sip.Request, tx sip.ServerTransaction) {
		p.reply(req, tx, 200, "OK")
		cid, _ := req.CallID()
		p.byes <- cid.Value()
	})
	if err := p.srv.Listen(transport, p.addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.srv.Shutdown)
	return p
}

func (p *platform) reply(req sip.Request, tx sip.ServerTransaction, code sip.StatusCode, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest("", req, code, reason, "")
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		p.t.Logf("respond %d: %v", code, err)
	}
}

// onRegister challenges, then checks the digest against the uri in the
// Authorization header (gb28181.md §3).
func (p *platform) onRegister(req sip.Request, tx sip.ServerTransaction) {
	from, _ := req.From()
	id := from.Address.User().String()
	hs := req.GetHeaders("Authorization")
	if len(hs) == 0 {
		p.reply(req, tx, 401, "Unauthorized", &sip.GenericHeader{HeaderName: "WWW-Authenticate",
			Contents: fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5`, testDomain, p.nonce)})
		return
	}
	auth := sip.AuthFromValue(hs[0].Value())
	got := auth.Response()
	want := auth.SetPassword(testPassword).SetMethod("REGISTER").CalcResponse()
	if auth.Username() != id || auth.Nonce() != p.nonce || auth.Uri() == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		p.reply(req, tx, 403, "Forbidden")
		p.rejected <- id
		return
	}
	expires := "3600"
	if e := req.GetHeaders("Expires"); len(e) > 0 {
		expires = e[0].Value()
	}
	exp := sip.Expires(atoi(expires))
	p.reply(req, tx, 200, "OK", &exp)
	p.mu.Lock()
	p.sources[id] = req.Source()
	p.mu.Unlock()
	if expires == "0" {
		p.unregistered <- id
	} else {
		p.registered <- id
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n }

func (p *platform) onMessage(req sip.Request, tx sip.ServerTransaction) {
	p.reply(req, tx, 200, "OK")
	m, err := manscdp.Parse([]byte(req.Body()))
	if err != nil {
		p.t.Errorf("bad body from device: %v", err)
		return
	}
	if m.CmdType == manscdp.CmdKeepalive {
		p.keepalives <- m.DeviceID
		return
	}
	p.responses <- m
}

// request builds a request to a registered device (or one of its channels).
func (p *platform) request(method sip.RequestMethod, device, target, contentType, body string) sip.Request {
	p.t.Helper()
	p.mu.Lock()
	src := p.sources[device]
	p.mu.Unlock()
	if src == "" {
		p.t.Fatalf("%s is not registered", device)
	}
	host, port, _ := net.SplitHostPort(src)
	sp := sip.Port(atoi(port))
	cid := sip.CallID(randToken(12))
	ourPort := sip.Port(atoi(p.addr[strings.LastIndex(p.addr, ":")+1:]))
	b := sip.NewRequestBuilder().SetMethod(method).SetTransport(p.transport).SetHost("127.0.0.1").
		SetRecipient(&sip.SipUri{FUser: sip.String{Str: target}, FHost: host, FPort: &sp}).
		SetFrom(&sip.Address{Uri: &sip.SipUri{FUser: sip.String{Str: testPlatform}, FHost: testDomain},
			Params: sip.NewParams().Add("tag", sip.String{Str: randToken(6)})}).
		SetTo(&sip.Address{Uri: &sip.SipUri{FUser: sip.String{Str: target}, FHost: testDomain}}).
		SetContact(&sip.Address{Uri: &sip.SipUri{FUser: sip.String{Str: testPlatform}, FHost: "127.0.0.1", FPort: &ourPort}}).
		SetCallID(&cid).SetSeqNo(1).
		AddVia(&sip.ViaHop{Params: sip.NewParams().Add("branch", sip.String{Str: sip.GenerateBranch()}).Add("rport", nil)})
	if contentType != "" {
		ct := sip.ContentType(contentType)
		b.SetContentType(&ct).SetBody(body)
	}
	req, err := b.Build()
	if err != nil {
		p.t.Fatal(err)
	}
	req.SetDestination(src)
	req.SetTransport(p.transport)
	return req
}

func (p *platform) do(req sip.Request) (sip.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.srv.RequestWithContext(ctx, req)
}

// query sends a MANSCDP Query to the device.
func (p *platform) query(device string, doc *manscdp.Node) {
	p.t.Helper()
	body, err := manscdp.Marshal(doc, manscdp.GB2312)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.do(p.request(sip.MESSAGE, device, device, "Application/MANSCDP+xml", string(body))); err != nil {
		p.t.Fatalf("MESSAGE: %v", err)
	}
}

// bye ends an INVITE dialog from the platform's side.
func (p *platform) bye(inv sip.Request, res sip.Response, device string) {
	p.t.Helper()
	req := p.request(sip.BYE, device, device, "", "")
	from, _ := inv.From()
	to, _ := res.To()
	cid, _ := inv.CallID()
	req.ReplaceHeaders("From", []sip.Header{from.Clone()})
	req.ReplaceHeaders("To", []sip.Header{to.Clone()})
	req.ReplaceHeaders("Call-ID", []sip.Header{cid.Clone()})
	cs := &sip.CSeq{SeqNo: 2, MethodName: sip.BYE}
	req.ReplaceHeaders("CSeq", []sip.Header{cs})
	if _, err := p.do(req); err != nil {
		p.t.Fatalf("BYE: %v", err)
	}
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
