package dispatch

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"pingan/internal/store"
)

func TestEventsResumeAfterReconnect(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		ctx := context.Background()
		c := mustCreate(t, svc, xiaodian, newCase("dispute"))
		first, rec, err := svc.Events(ctx, xiaodian, 0, 100)
		if err != nil || !rec || len(first) == 0 {
			t.Fatalf("events: %v %v %d", err, rec, len(first))
		}
		last := first[len(first)-1].Offset
		// The console disconnects; the case moves on meanwhile.
		c = step(t, svc, c, act(ActAccept))
		c = step(t, svc, c, TransitionRequest{Action: ActRoute, Departments: []DepartmentID{"d1"}})
		step(t, svc, c, dept(ActCheckin, "d1"))
		missed, rec, err := svc.Events(ctx, xiaodian, last, 100)
		if err != nil || !rec || len(missed) != 3 {
			t.Fatalf("after reconnect: %v %v %d", err, rec, len(missed))
		}
		wantTypes := []string{EventCaseTransition, EventCaseTransition, "department.checkin"}
		for i, e := range missed {
			if e.Offset != last+uint64(i)+1 || e.Type != wantTypes[i] || e.Case != c.Code {
				t.Fatalf("event %d: %+v", i, e)
			}
		}
		if missed[1].Action != "route" || missed[1].State != string(StateRouted) || missed[1].Region != "140105" {
			t.Fatalf("route event: %+v", missed[1])
		}
		// Trimmed away: the client is told to reload.
		if err := st.TrimLog(ctx, logEvents, last+2); err != nil {
			t.Fatal(err)
		}
		evs, rec, err := svc.Events(ctx, xiaodian, last-1, 100)
		if err != nil || rec || len(evs) != 2 {
			t.Fatalf("trimmed: %v recovered=%v %d", err, rec, len(evs))
		}
	})
}

func TestEventsAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pingan.db")
	ctx := context.Background()
	st := openBoltAt(t, path)
	svc := newService(t, st, NewFakeClock(t0))
	c := mustCreate(t, svc, admin, newCase("dispute"))
	c = step(t, svc, c, act(ActAccept))
	before := allEvents(t, svc)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2 := openBoltAt(t, path)
	svc2, err := New(st2, testConfig(), shanghai, NewFakeClock(t0), nil)
	if err != nil {
		t.Fatal(err)
	}
	after := allEvents(t, svc2)
	if len(after) != len(before) || after[len(after)-1].Offset != before[len(before)-1].Offset {
		t.Fatalf("restart: %d events (want %d)", len(after), len(before))
	}
	last := after[len(after)-1].Offset
	step(t, svc2, c, TransitionRequest{Action: ActRoute, Departments: []DepartmentID{"d1"}})
	evs, rec, err := svc2.Events(ctx, admin, last, 10)
	if err != nil || !rec || len(evs) != 1 || evs[0].Offset != last+1 {
		t.Fatalf("resume after restart: %v %v %+v", err, rec, evs)
	}
}

func TestWatch(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		ctx, cancel := context.WithCancel(context.Background())
		w := svc.Watch(ctx)
		time.Sleep(50 * time.Millisecond) // let the subscription settle (Redis SUBSCRIBE is asynchronous)
		c := mustCreate(t, svc, admin, newCase("dispute"))
		evs := allEvents(t, svc)
		want := evs[len(evs)-1].Offset
		select {
		case off := <-w:
			if off != want {
				t.Fatalf("watch gave %d, want %d (case %s)", off, want, c.Code)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no notification")
		}
		cancel()
		for range w { // closes when ctx ends
		}
	})
}
