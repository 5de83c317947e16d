package sim

import (
	"sync"

	gosiplog "github.com/ghettovoice/gosip/log"
	"github.com/ghettovoice/gosip/sip"
	"github.com/ghettovoice/gosip/transaction"
)

// gosip's transaction layer sends a new request (tx.Init) before it files
// the client transaction under its key (transaction/layer.go Request). A
// peer on loopback answers within microseconds, so its response can reach
// the layer first and be dropped as "not matched" (over UDP the request
// is then retransmitted after 500 ms; over TCP it times out).
//
// txGate closes that window without timers: Request marks the branch as
// in flight before handing the request to the layer and releases it after
// the layer has filed the transaction; a response for an in-flight branch
// is held meanwhile and delivered right after.

type txGate struct {
	transaction.Layer
	tp *gateTransport
}

type gateTransport struct {
	sip.Transport
	out  chan sip.Message
	stop chan struct{} // closed when the transaction layer is done

	mu       sync.Mutex
	inFlight map[string][]sip.Message // branch → responses held until it is filed
}

// gatedTxLayer is a gosip TransactionLayerFactory with the fix.
func gatedTxLayer(tpl sip.Transport, logger gosiplog.Logger) transaction.Layer {
	gt := &gateTransport{Transport: tpl, out: make(chan sip.Message), stop: make(chan struct{}), inFlight: map[string][]sip.Message{}}
	inner := transaction.NewLayer(gt, logger)
	go func() {
		<-inner.Done()
		close(gt.stop)
	}()
	go gt.forward(tpl.Messages())
	return &txGate{Layer: inner, tp: gt}
}

func (g *txGate) Request(req sip.Request) (sip.ClientTransaction, error) {
	b := branch(req)
	g.tp.mu.Lock()
	g.tp.inFlight[b] = nil
	g.tp.mu.Unlock()
	tx, err := g.Layer.Request(req)
	g.tp.mu.Lock()
	held := g.tp.inFlight[b]
	delete(g.tp.inFlight, b)
	g.tp.mu.Unlock()
	for _, m := range held {
		g.tp.deliver(m)
	}
	return tx, err
}

func (t *gateTransport) Messages() <-chan sip.Message { return t.out }

func (t *gateTransport) forward(in <-chan sip.Message) {
	for m := range in {
		if res, ok := m.(sip.Response); ok {
			b := branch(res)
			t.mu.Lock()
			held, flying := t.inFlight[b]
			if flying {
				t.inFlight[b] = append(held, m)
			}
			t.mu.Unlock()
			if flying {
				continue
			}
		}
		t.deliver(m)
	}
}

func (t *gateTransport) deliver(m sip.Message) {
	select {
	case t.out <- m:
	case <-t.stop:
	}
}

func branch(m sip.Message) string {
	if via, ok := m.ViaHop(); ok && via.Params != nil {
		if b, ok := via.Params.Get("branch"); ok && b != nil {
			return b.String()
		}
	}
	return ""
}
