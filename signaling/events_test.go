package signaling

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"pingan/dispatch"
	"pingan/internal/auth"
)

func TestEventTopics(t *testing.T) {
	cases := []struct {
		ev   dispatch.Event
		want []string
	}{
		{dispatch.Event{Type: dispatch.EventCaseCreated, Case: "C1"}, []string{"cases", "case:C1"}},
		{dispatch.Event{Type: dispatch.EventCaseColour, Case: "C1"}, []string{"cases", "case:C1"}},
		{dispatch.Event{Type: "department.checkin", Case: "C1"}, []string{"cases", "case:C1"}},
		{dispatch.Event{Type: dispatch.EventDepartmentNew}, []string{"cases"}},
		{dispatch.Event{Type: "incident.created", Incident: "INC1", Case: "C1"}, []string{"incidents", "incident:INC1", "case:C1"}},
		{dispatch.Event{Type: dispatch.EventSnapshot}, []string{"stats"}},
	}
	for _, tc := range cases {
		if got := EventTopics(tc.ev); !slices.Equal(got, tc.want) {
			t.Errorf("%s: topics %v, want %v", tc.ev.Type, got, tc.want)
		}
	}
}

type apiEventPage struct {
	Events    []wsEvent `json:"events"`
	Recovered bool      `json:"recovered"`
	Next      uint64    `json:"next"`
}

func TestEventsAPI(t *testing.T) {
	e := newDispatchEnv(t)
	c105 := e.createCase("op105", "140105", "")
	e.createCase("admin", "140106", "")
	e.mustTransition("op105", c105, map[string]any{"action": "accept"})

	var all, mine apiEventPage
	if code := e.do("GET", "/api/v1/events", "admin", nil, &all); code != 200 || len(all.Events) != 3 || !all.Recovered {
		t.Fatalf("admin events: %d %+v", code, all)
	}
	if code := e.do("GET", "/api/v1/events?after=0&limit=10", "op105", nil, &mine); code != 200 || len(mine.Events) != 2 {
		t.Fatalf("op105 events: %d %+v", code, mine)
	}
	if mine.Next != all.Next {
		t.Errorf("op105 next = %d, want %d (past the filtered event)", mine.Next, all.Next)
	}
	var page apiEventPage
	if code := e.do("GET", "/api/v1/events?after=1&limit=1", "admin", nil, &page); code != 200 || len(page.Events) != 1 || page.Events[0].Offset != all.Events[1].Offset {
		t.Errorf("paged: %d %+v", code, page)
	}
	for _, bad := range []string{"after=-1", "after=x", "limit=5000"} {
		if code := e.do("GET", "/api/v1/events?"+bad, "admin", nil, nil); code != 422 {
			t.Errorf("%s: %d, want 422", bad, code)
		}
	}
	if code := e.do("GET", "/api/v1/events", "trainee", nil, nil); code != 403 {
		t.Errorf("trainee: %d", code)
	}
}

// TestDispatchEventLogSkipsHidden: the log moves a scoped reader's cursor
// past events it may not see, with a final entry that has no topics.
func TestDispatchEventLogSkipsHidden(t *testing.T) {
	e := newDispatchEnv(t)
	e.createCase("op105", "140105", "")
	for range 3 {
		e.createCase("admin", "140106", "")
	}
	log := NewDispatchEventLog(e.svc)
	evs, held, err := log.EventsFor(context.Background(), dispatchPrincipals["op105"], 0, 100)
	if err != nil || !held {
		t.Fatal(err, held)
	}
	if len(evs) != 2 || evs[0].Offset != 1 || len(evs[0].Topics) == 0 || evs[1].Offset != 4 || evs[1].Topics != nil {
		t.Fatalf("events %+v", evs)
	}
	if evs, _, _ = log.EventsFor(context.Background(), dispatchPrincipals["op105"], 4, 100); len(evs) != 0 {
		t.Fatalf("after the marker: %+v", evs)
	}
}

// TestEventsWebSocket: two clients see the same transition; a client that
// reconnects with its last offset receives exactly what it missed; another
// county's client sees nothing of it.
func TestEventsWebSocket(t *testing.T) {
	e := newDispatchEnv(t)
	e.startEventsWS()
	c := e.createCase("op105", "140105", "")

	zero := uint64(0)
	a, b := dialWS(t, e.srv.URL, "op105"), dialWS(t, e.srv.URL, "admin")
	other := dialWS(t, e.srv.URL, "op106")
	a.subscribe(&zero, "cases")
	b.subscribe(nil, "case:"+c.Code)
	other.subscribe(&zero, "cases")
	if got := a.events(1); got[0].Type != dispatch.EventCaseCreated || got[0].Case != c.Code {
		t.Fatalf("replayed %+v", got)
	}

	c = e.mustTransition("op105", c, map[string]any{"action": "accept"})
	ea, eb := a.events(1)[0], b.events(1)[0]
	if ea != eb || ea.Action != "accept" {
		t.Fatalf("a got %+v, b got %+v", ea, eb)
	}
	last := ea.Offset

	// a leaves; three more changes; a comes back with its last offset.
	_ = a.conn.Close()
	c = e.mustTransition("op105", c, map[string]any{"action": "escalate"})
	c = e.mustTransition("admin", c, map[string]any{"action": "suspend", "reason": "等待鉴定"})
	e.mustTransition("admin", c, map[string]any{"action": "resume"})
	a = dialWS(t, e.srv.URL, "op105")
	a.subscribe(&last, "cases")
	got := a.events(3)
	for i, want := range []string{"escalate", "suspend", "resume"} {
		if got[i].Action != want || got[i].Offset != last+uint64(i)+1 {
			t.Fatalf("missed event %d = %+v, want %s at %d", i, got[i], want, last+uint64(i)+1)
		}
	}
	a.quiet(200 * time.Millisecond)
	other.quiet(200 * time.Millisecond)
}

// countingEvents is an eventService that counts reads and whose Watch the
// test drives.
type countingEvents struct {
	mu     sync.Mutex
	reads  int
	events []dispatch.Event
	watch  chan uint64
}

func (c *countingEvents) ReadEvents(_ context.Context, _ auth.Principal, after uint64, _ int) (dispatch.EventPage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	pg := dispatch.EventPage{Events: []dispatch.Event{}, Next: after, Recovered: true}
	for _, ev := range c.events {
		if ev.Offset > after {
			pg.Events = append(pg.Events, ev)
			pg.Next = ev.Offset
		}
	}
	return pg, nil
}

func (c *countingEvents) Watch(context.Context) <-chan uint64 { return c.watch }

func (c *countingEvents) append(off uint64) {
	c.mu.Lock()
	c.events = append(c.events, dispatch.Event{Offset: off, Type: dispatch.EventCaseCreated, Case: "C"})
	c.mu.Unlock()
}

// TestDispatchEventLogSharesReads: while no new event is announced, equal
// reads share one store read; an announced event starts a new generation.
func TestDispatchEventLogSharesReads(t *testing.T) {
	svc := &countingEvents{watch: make(chan uint64)}
	log := NewDispatchEventLog(svc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	woken := log.Watch(ctx)
	p := auth.Principal{Username: "a", Role: auth.RoleOperator, Region: "140105"}

	svc.append(1)
	svc.watch <- 1
	<-woken
	for range 10 {
		if evs, _, _ := log.EventsFor(ctx, p, 0, 500); len(evs) != 1 {
			t.Fatalf("events %+v", evs)
		}
	}
	if svc.reads != 1 {
		t.Fatalf("%d store reads for 10 equal reads, want 1", svc.reads)
	}
	svc.append(2)
	svc.watch <- 2
	<-woken
	if evs, _, _ := log.EventsFor(ctx, p, 0, 500); len(evs) != 2 || svc.reads != 2 {
		t.Fatalf("after a new event: %d events, %d reads", len(evs), svc.reads)
	}
	other := p
	other.Region = "140106"
	if log.EventsFor(ctx, other, 0, 500); svc.reads != 3 {
		t.Fatalf("another scope shared a read: %d reads", svc.reads)
	}
}
