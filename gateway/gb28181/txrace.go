package gb28181

import (
	"sync"
	"time"

	gosiplog "github.com/ghettovoice/gosip/log"
	"github.com/ghettovoice/gosip/sip"
	"github.com/ghettovoice/gosip/transaction"
)

// gosip's transaction layer sends a new request (tx.Init) before it files
// the transaction under its key (transaction/layer.go Request), so a peer
// that answers within microseconds — any device on loopback, gbsim — has
// its response passed up as "not matched" and dropped. Over UDP the
// request is retransmitted after 500 ms; over TCP the request times out.
// raceTransport and raceLayer close that window: an unmatched response is
// fed to the transaction layer again a little later, at most twice.

// retryDelays are the waits before an unmatched response is re-delivered.
var retryDelays = []time.Duration{2 * time.Millisecond, 20 * time.Millisecond}

// raceTransport is the sip.Transport the transaction layer reads; its
// Messages carry the real transport's messages plus re-delivered responses.
type raceTransport struct {
	sip.Transport
	out   chan sip.Message
	retry chan sip.Message
	stop  chan struct{} // closed when the transaction layer is done
	// stateless, when set, sees each incoming request first; a request it
	// takes (returns true for) is answered by it without a transaction.
	stateless func(sip.Request) bool
}

func (t *raceTransport) Messages() <-chan sip.Message { return t.out }

// forward copies inner messages and retries to out until the inner
// transport closes its channel.
func (t *raceTransport) forward(in <-chan sip.Message) {
	for {
		var msg sip.Message
		select {
		case m, ok := <-in:
			if !ok {
				return
			}
			if req, ok := m.(sip.Request); ok && t.stateless != nil && t.stateless(req) {
				continue
			}
			msg = m
		case m := <-t.retry:
			msg = m
		}
		select {
		case t.out <- msg:
		case <-t.stop: // transaction layer gone: drain and drop
		}
	}
}

// raceLayer wraps the transaction layer and re-delivers unmatched responses.
type raceLayer struct {
	transaction.Layer
	tp        *raceTransport
	responses chan sip.Response
	mu        sync.Mutex
	tries     map[sip.Response]int
}

// newRaceTxFactory is a gosip TransactionLayerFactory with the fix;
// stateless (nil for none) may take incoming requests before the
// transaction layer sees them.
func newRaceTxFactory(stateless func(sip.Request) bool) func(tpl sip.Transport, logger gosiplog.Logger) transaction.Layer {
	return func(tpl sip.Transport, logger gosiplog.Logger) transaction.Layer {
		rt := &raceTransport{
			Transport: tpl, out: make(chan sip.Message), retry: make(chan sip.Message), stop: make(chan struct{}),
			stateless: stateless,
		}
		inner := transaction.NewLayer(rt, logger)
		l := &raceLayer{Layer: inner, tp: rt, responses: make(chan sip.Response), tries: map[sip.Response]int{}}
		go func() {
			<-inner.Done()
			close(rt.stop)
		}()
		go rt.forward(tpl.Messages())
		go l.filter()
		return l
	}
}

func (l *raceLayer) Responses() <-chan sip.Response { return l.responses }

// filter passes up responses that stay unmatched after the retries.
func (l *raceLayer) filter() {
	defer close(l.responses)
	for res := range l.Layer.Responses() {
		l.mu.Lock()
		if len(l.tries) > 4096 { // responses matched on a retry never come back here
			clear(l.tries)
		}
		n := l.tries[res]
		if n < len(retryDelays) {
			l.tries[res] = n + 1
		} else {
			delete(l.tries, res)
		}
		l.mu.Unlock()
		if n < len(retryDelays) {
			time.AfterFunc(retryDelays[n], func() {
				select {
				case l.tp.retry <- res:
				case <-l.tp.stop:
				}
			})
			continue
		}
		select {
		case l.responses <- res:
		case <-l.Layer.Done():
		}
	}
}
