package sim

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ghettovoice/gosip"
	"github.com/ghettovoice/gosip/sip"

	"pingan/gateway/gb28181/manscdp"
)

const (
	requestTimeout = 10 * time.Second
	// maxKeepaliveMisses keepalives without a 200 make the device
	// register again (gb28181.md §15).
	maxKeepaliveMisses = 3
)

// device is one simulated IPC/NVR: its registration and keepalive loop,
// and its answers to the platform's MESSAGEs.
type device struct {
	u        *ua
	cfg      *Config
	id       string
	channels []string
	index    int
	log      *slog.Logger
	ctx      context.Context // Run's context, for answers sent from handlers
	callID   string          // REGISTER dialog, kept across refreshes
	cseq     atomic.Uint32
	sn       atomic.Int64
}

func newDevice(ctx context.Context, u *ua, id string, channels []string, index int) *device {
	d := &device{
		u: u, cfg: u.cfg, id: id, channels: channels, index: index, ctx: ctx,
		log:    u.cfg.Logger.With("device", id),
		callID: randToken(16) + "@" + u.cfg.LocalIP,
	}
	d.sn.Store(rand.Int64N(10000))
	u.add(d)
	return d
}

// run registers at startAt, then keeps alive and refreshes until ctx ends,
// then unregisters.
func (d *device) run(ctx context.Context, startAt time.Time) {
	if !sleep(ctx, time.Until(startAt)) {
		return
	}
	backoff := time.Second
	registered, first := false, true
	defer func() {
		if registered {
			d.unregister()
		}
	}()
	for ctx.Err() == nil {
		granted, err := d.register(ctx, d.cfg.Expires)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Warn("register failed", "err", err, "retry_in", backoff)
			if !sleep(ctx, backoff/2+rand.N(backoff/2+1)) {
				return
			}
			backoff = min(backoff*2, time.Minute)
			continue
		}
		registered, backoff = true, time.Second
		lvl := slog.LevelDebug
		if first || d.cfg.Count == 1 {
			lvl = slog.LevelInfo
		}
		d.log.Log(ctx, lvl, "registered", "expires", granted, "channels", len(d.channels))
		d.keepalive(ctx, granted, first)
		first = false
	}
}

// keepalive sends keepalives until the registration needs refreshing,
// keepalives keep failing, or ctx ends.
func (d *device) keepalive(ctx context.Context, granted time.Duration, first bool) {
	refresh := time.NewTimer(max(granted*8/10, time.Second))
	defer refresh.Stop()
	next := d.cfg.Keepalive
	if first {
		next = 0 // one at once, as devices do
		if d.cfg.Count > 1 {
			next = rand.N(d.cfg.Keepalive) // spread thousands of devices over the interval
		}
	}
	tick := time.NewTimer(next)
	defer tick.Stop()
	misses := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			return
		case <-tick.C:
			tick.Reset(d.cfg.Keepalive)
			if err := d.send(ctx, manscdp.KeepaliveNotify(d.nextSN(), d.id)); err != nil {
				misses++
				d.log.Warn("keepalive failed", "err", err, "misses", misses)
				if misses >= maxKeepaliveMisses {
					return
				}
				continue
			}
			misses = 0
		}
	}
}

// register sends REGISTER (answering the 401 challenge with digest, GB/T
// 28181-2016 §9.1; gb28181.md §3) and returns the lifetime granted.
func (d *device) register(ctx context.Context, expires time.Duration) (time.Duration, error) {
	secs := uint32(expires / time.Second)
	req, err := d.request(sip.REGISTER, d.callID, "", nil, func(b *sip.RequestBuilder) {
		e := sip.Expires(secs)
		b.SetExpires(&e)
		b.SetTo(d.addr(d.id, ""))
	})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	res, err := d.u.srv.RequestWithContext(ctx, req, gosip.WithAuthorizer(&sip.DefaultAuthorizer{
		User: sip.String{Str: d.id}, Password: sip.String{Str: d.cfg.Password},
	}))
	if cs, ok := req.CSeq(); ok { // the authorizer bumped it
		d.cseq.Store(cs.SeqNo)
	}
	if err != nil {
		return 0, fmt.Errorf("REGISTER: %w", err)
	}
	granted := expires
	if hs := res.GetHeaders("Expires"); len(hs) > 0 {
		if n, err := strconv.Atoi(strings.TrimSpace(hs[0].Value())); err == nil && n > 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	return granted, nil
}

func (d *device) unregister() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 3*time.Second)
	defer cancel()
	if _, err := d.register(ctx, 0); err != nil {
		d.log.Warn("unregister failed", "err", err)
		return
	}
	d.log.Debug("unregistered")
}

// send sends a MANSCDP body as MESSAGE to the platform and waits for its 200.
func (d *device) send(ctx context.Context, doc *manscdp.Node) error {
	body, err := manscdp.Marshal(doc, manscdp.GB2312)
	if err != nil {
		return err
	}
	req, err := d.request(sip.MESSAGE, randToken(16)+"@"+d.cfg.LocalIP, "Application/MANSCDP+xml", body, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if _, err := d.u.srv.RequestWithContext(ctx, req); err != nil {
		return fmt.Errorf("MESSAGE: %w", err)
	}
	return nil
}

// request builds a request from the device to the platform, sent to
// Server over the configured transport (SetTransport keeps a big catalog
// page on UDP).
func (d *device) request(method sip.RequestMethod, callID, contentType string, body []byte, edit func(*sip.RequestBuilder)) (sip.Request, error) {
	cid := sip.CallID(callID)
	port := sip.Port(d.u.port)
	ua := sip.UserAgentHeader("pingan-gbsim")
	b := sip.NewRequestBuilder().
		SetMethod(method).
		SetTransport(d.u.transport).
		SetHost(d.cfg.LocalIP).
		SetRecipient(&sip.SipUri{FUser: sip.String{Str: d.cfg.PlatformID}, FHost: d.cfg.Domain}).
		SetFrom(d.addr(d.id, randToken(8))).
		SetTo(d.addr(d.cfg.PlatformID, "")).
		SetContact(&sip.Address{Uri: &sip.SipUri{FUser: sip.String{Str: d.id}, FHost: d.cfg.LocalIP, FPort: &port}}).
		SetCallID(&cid).
		SetSeqNo(uint(d.cseq.Add(1))).
		SetUserAgent(&ua).
		AddVia(&sip.ViaHop{Params: sip.NewParams().Add("branch", sip.String{Str: sip.GenerateBranch()}).Add("rport", nil)})
	if contentType != "" {
		ct := sip.ContentType(contentType)
		b.SetContentType(&ct)
		b.SetBody(string(body))
	}
	if edit != nil {
		edit(b)
	}
	req, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", method, err)
	}
	req.SetDestination(d.cfg.Server)
	req.SetTransport(d.u.transport)
	return req, nil
}

func (d *device) addr(user, tag string) *sip.Address {
	a := &sip.Address{Uri: &sip.SipUri{FUser: sip.String{Str: user}, FHost: d.cfg.Domain}, Params: sip.NewParams()}
	if tag != "" {
		a.Params.Add("tag", sip.String{Str: tag})
	}
	return a
}

func (d *device) nextSN() int { return int(d.sn.Add(1)) }

func randToken(n int) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
