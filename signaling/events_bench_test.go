package signaling

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"pingan/dispatch"
)

// fanoutSubscribers is how many consoles BenchmarkWSEventFanout connects.
const fanoutSubscribers = 1000

// BenchmarkWSEventFanout measures event delivery to 1,000 WebSocket
// subscribers (gorilla clients on loopback, one process): each iteration
// is one case transition on a bbolt-backed dispatch.Service, and the
// latency of each subscriber is from just before the transition call (so it
// includes the commit) to the moment the client decoded the event. Reports
// p50, p99 and max over every delivery, and the transition's own time.
func BenchmarkWSEventFanout(b *testing.B) {
	e := newDispatchEnv(b)
	e.startEventsWS()
	admin := dispatchPrincipals["admin"]
	ctx := context.Background()
	c, err := e.svc.Create(ctx, admin, dispatch.NewCase{Type: "dispute", Source: dispatch.SourceWalkin, Title: "bench", Region: "140105"})
	if err != nil {
		b.Fatal(err)
	}
	pg, err := e.svc.ReadEvents(ctx, admin, 0, 1000)
	if err != nil {
		b.Fatal(err)
	}
	recv := make(chan uint64, fanoutSubscribers*4)
	var (
		mu       sync.Mutex
		received = map[uint64][]time.Time{}
	)
	clients := dialFanout(b, e.srv.URL, pg.Next, recv, func(off uint64, at time.Time) {
		mu.Lock()
		received[off] = append(received[off], at)
		mu.Unlock()
	})
	defer closeAll(clients)

	var lat, commit []time.Duration
	deadline := time.Now().Add(time.Hour)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		next, err := e.svc.Transition(ctx, admin, c.Code, dispatch.TransitionRequest{Action: dispatch.ActExtend,
			Version: c.Version, Deadline: deadline.Add(time.Duration(i+1) * time.Minute)})
		if err != nil {
			b.Fatal(err)
		}
		commit = append(commit, time.Since(start))
		c = next
		off := waitDeliveries(b, recv, &mu, received)
		mu.Lock()
		for _, at := range received[off] {
			lat = append(lat, at.Sub(start))
		}
		delete(received, off)
		mu.Unlock()
	}
	b.StopTimer()
	slices.Sort(lat)
	slices.Sort(commit)
	b.ReportMetric(ms(pct(lat, 50)), "p50-ms")
	b.ReportMetric(ms(pct(lat, 99)), "p99-ms")
	b.ReportMetric(ms(pct(lat, 100)), "max-ms")
	b.ReportMetric(ms(pct(commit, 50)), "commit-p50-ms")
	b.ReportMetric(float64(len(lat))/float64(b.N), "deliveries/op")
}

// dialFanout connects the subscribers, subscribed to "cases" after offset;
// each reports every event with its receipt time, then its offset on recv.
func dialFanout(b *testing.B, base string, after uint64, recv chan<- uint64, got func(uint64, time.Time)) []*websocket.Conn {
	u := "ws" + strings.TrimPrefix(base, "http") + "/ws?access_token=admin"
	conns := make([]*websocket.Conn, 0, fanoutSubscribers)
	for range fanoutSubscribers {
		conn, res, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			b.Fatalf("dial subscriber %d: %v", len(conns), err)
		}
		res.Body.Close()
		if err := conn.WriteJSON(map[string]any{"v": 1, "type": "subscribe", "topics": []string{"cases"}, "after": after}); err != nil {
			b.Fatal(err)
		}
		conns = append(conns, conn)
		go func() {
			for {
				_, data, err := conn.ReadMessage()
				if err != nil {
					return
				}
				at := time.Now()
				var m struct {
					Type   string `json:"type"`
					Offset uint64 `json:"offset"`
				}
				if json.Unmarshal(data, &m) == nil && m.Type == "event" {
					got(m.Offset, at)
					recv <- m.Offset
				}
			}
		}()
	}
	return conns
}

// waitDeliveries waits until every subscriber received one event and
// returns its offset.
func waitDeliveries(b *testing.B, recv <-chan uint64, mu *sync.Mutex, received map[uint64][]time.Time) uint64 {
	timeout := time.After(30 * time.Second)
	for {
		select {
		case off := <-recv:
			mu.Lock()
			n := len(received[off])
			mu.Unlock()
			if n == fanoutSubscribers {
				return off
			}
		case <-timeout:
			b.Fatalf("not every subscriber received the event within 30 s")
		}
	}
}

func closeAll(conns []*websocket.Conn) {
	for _, c := range conns {
		_ = c.Close()
	}
}

// pct is the p-th percentile of sorted durations (100 = max).
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
