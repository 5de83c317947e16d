package dispatch

import (
	"context"
	"sync"
	"testing"
	"time"

	"pingan/internal/store"
)

func TestColoursWithFakeClock(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		clk := NewFakeClock(t0)
		svc := newService(t, st, clk)
		runScheduler(t, svc)
		ctx := context.Background()
		c := mustCreate(t, svc, xiaodian, newCase("fast")) // accept limit 3s: yellow at 2s, red at 3s
		colour := func() Colour {
			got, err := svc.Get(ctx, admin, c.Code)
			if err != nil {
				t.Fatal(err)
			}
			return got.Colour
		}
		clk.Advance(1999 * time.Millisecond)
		time.Sleep(300 * time.Millisecond)
		if colour() != Green {
			t.Fatal("yellow too early")
		}
		clk.Advance(time.Millisecond)
		if !waitFor(t, time.Second, func() bool { return colour() == Yellow }) {
			t.Fatal("not yellow within 1s of the threshold")
		}
		clk.Advance(time.Second)
		if !waitFor(t, time.Second, func() bool { return colour() == Red }) {
			t.Fatal("not red within 1s of the deadline")
		}
		evs := allEvents(t, svc)
		if countType(evs, EventCaseColour, c.Code) != 2 || countType(evs, EventCaseReminder, c.Code) != 1 {
			t.Fatalf("colour events %d, reminders %d", countType(evs, EventCaseColour, c.Code), countType(evs, EventCaseReminder, c.Code))
		}
		// A transition starts the next stage green again.
		got, _ := svc.Get(ctx, admin, c.Code)
		got = step(t, svc, got, act(ActAccept))
		if got.Colour != Green || got.Stage != stageRoute || !got.EverRed {
			t.Fatalf("after accept: %s %s", got.Colour, got.Stage)
		}
	})
}

func TestReminderNamesDepartments(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		clk := NewFakeClock(t0)
		svc := newService(t, st, clk)
		runScheduler(t, svc)
		c := mustCreate(t, svc, admin, newCase("fast"))
		c = step(t, svc, c, act(ActAccept))
		c = step(t, svc, c, TransitionRequest{Action: ActRoute, Departments: []DepartmentID{"d1", "d2"}})
		c = step(t, svc, c, dept(ActCheckin, "d1"))
		clk.Advance(3 * time.Second)
		var rem []Event
		waitFor(t, time.Second, func() bool {
			rem = nil
			for _, e := range allEvents(t, svc) {
				if e.Type == EventCaseReminder && e.Case == c.Code {
					rem = append(rem, e)
				}
			}
			return len(rem) == 1
		})
		if len(rem) != 1 {
			t.Fatalf("%d reminders", len(rem))
		}
		if d, _ := rem[0].Data["departments"].([]any); len(d) != 2 || rem[0].Data["stage"] != stageCheckin {
			t.Fatalf("reminder data %v", rem[0].Data)
		}
	})
}

func TestColourSubSecondRealClock(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, nil)
		runScheduler(t, svc)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		watch := svc.Watch(ctx)
		c := mustCreate(t, svc, admin, newCase("subsec")) // 600ms: yellow at 400ms, red at 600ms
		want := map[Colour]time.Time{Yellow: svc.yellowAt(c), Red: c.Deadline}
		seen := map[Colour]time.Time{}
		timeout := time.After(3 * time.Second)
		for len(seen) < 2 {
			select {
			case <-watch:
			case <-time.After(50 * time.Millisecond):
			case <-timeout:
				t.Fatalf("colours seen: %v", seen)
			}
			got, _ := svc.Get(ctx, admin, c.Code)
			if _, ok := seen[got.Colour]; !ok && got.Colour != Green {
				seen[got.Colour] = time.Now()
			}
		}
		for col, at := range seen {
			if lag := at.Sub(want[col]); lag > time.Second || lag < -10*time.Millisecond {
				t.Errorf("%s changed %v after its threshold", col, lag)
			}
		}
	})
}

func TestSuspendResumeShiftsDeadline(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		clk := NewFakeClock(t0)
		svc := newService(t, st, clk)
		runScheduler(t, svc)
		c := mustCreate(t, svc, admin, newCase("fast"))
		deadline := c.Deadline
		clk.Advance(time.Second)
		c = step(t, svc, c, TransitionRequest{Action: ActSuspend, Reason: "等待鉴定"})
		clk.Advance(time.Hour)
		time.Sleep(300 * time.Millisecond)
		got, _ := svc.Get(context.Background(), admin, c.Code)
		if got.Colour != Green {
			t.Fatalf("a suspended case aged: %s", got.Colour)
		}
		got = step(t, svc, got, act(ActResume))
		if !got.Deadline.Equal(deadline.Add(time.Hour)) || got.Paused != time.Hour || got.Colour != Green {
			t.Fatalf("resume: deadline %v (want %v) paused %v colour %s", got.Deadline, deadline.Add(time.Hour), got.Paused, got.Colour)
		}
		clk.Advance(time.Second) // 2s of 3s used: yellow
		if !waitFor(t, time.Second, func() bool {
			g, _ := svc.Get(context.Background(), admin, c.Code)
			return g.Colour == Yellow
		}) {
			t.Fatal("resumed case did not turn yellow")
		}
	})
}

func TestExtendRecolours(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		clk := NewFakeClock(t0)
		svc := newService(t, st, clk)
		c := mustCreate(t, svc, admin, newCase("fast"))
		clk.Advance(5 * time.Second)
		svc.tick(context.Background())
		c, _ = svc.Get(context.Background(), admin, c.Code)
		if c.Colour != Red {
			t.Fatalf("colour %s", c.Colour)
		}
		c = step(t, svc, c, TransitionRequest{Action: ActExtend, Deadline: clk.Now().Add(time.Hour)})
		if c.Colour != Green {
			t.Fatalf("extended case is %s", c.Colour)
		}
	})
}

// Two hubs on one store: every threshold fires exactly once.
func TestTwoSchedulersNeverDoubleFire(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) { testNoDoubleFire(t, st, st) })
}

// testNoDoubleFire runs two hubs' schedulers over stA and stB, which must
// be views of the same data.
func testNoDoubleFire(t *testing.T, stA, stB store.Store) {
	{
		clk := NewFakeClock(t0)
		a := newService(t, stA, clk)
		b := newService(t, stB, clk)
		a.poll, b.poll = 5*time.Millisecond, 5*time.Millisecond
		const n = 40
		codes := make([]CaseID, n)
		for i := range n {
			codes[i] = mustCreate(t, a, admin, newCase("fast")).Code
		}
		runScheduler(t, a)
		runScheduler(t, b)
		colours := func() int { return countType(allEvents(t, a), EventCaseColour, "") }
		clk.Advance(2 * time.Second) // every case turns yellow
		ok := waitFor(t, 5*time.Second, func() bool { return colours() >= n })
		clk.Advance(time.Second) // and red
		ok = ok && waitFor(t, 5*time.Second, func() bool { return colours() >= 2*n })
		time.Sleep(200 * time.Millisecond)
		evs := allEvents(t, a)
		if got := countType(evs, EventCaseColour, ""); !ok || got != 2*n {
			t.Fatalf("%d colour events, want %d", got, 2*n)
		}
		if got := countType(evs, EventCaseReminder, ""); got != n {
			t.Fatalf("%d reminders, want %d", got, n)
		}
	}
}

func TestSchedulerRepairsLostThreshold(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		clk := NewFakeClock(t0)
		svc := newService(t, st, clk)
		ctx := context.Background()
		c := mustCreate(t, svc, admin, newCase("fast"))
		// A hub claimed the entry and died before writing.
		if _, err := st.ClaimDue(ctx, idxDeadlines, 1e15, 10); err != nil {
			t.Fatal(err)
		}
		clk.Advance(10 * time.Second)
		runScheduler(t, svc)
		if !waitFor(t, time.Second, func() bool {
			g, _ := svc.Get(ctx, admin, c.Code)
			return g.Colour == Red
		}) {
			t.Fatal("lost threshold was not repaired")
		}
	})
}

func TestWorkingDayCalendar(t *testing.T) {
	cal, err := newCalendar(true, []string{"2026-11-12"}, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	fri := time.Date(2026, 11, 13, 17, 0, 0, 0, shanghai)
	cases := []struct {
		start time.Time
		limit time.Duration
		want  time.Time
	}{
		{fri, 2 * time.Hour, fri.Add(2 * time.Hour)},                                                                   // under 24h: plain time
		{fri, 24 * time.Hour, time.Date(2026, 11, 16, 17, 0, 0, 0, shanghai)},                                          // Fri → Mon
		{t0, 72 * time.Hour, time.Date(2026, 11, 16, 10, 0, 0, 0, shanghai)},                                           // Tue + 3: Wed, (Thu holiday), Fri, Mon
		{t0, 30 * time.Hour, time.Date(2026, 11, 11, 16, 0, 0, 0, shanghai)},                                           // 1 day + 6h
		{time.Date(2026, 11, 14, 9, 0, 0, 0, shanghai), 24 * time.Hour, time.Date(2026, 11, 16, 9, 0, 0, 0, shanghai)}, // Sat → Mon
	}
	for _, tc := range cases {
		if got := cal.add(tc.start, tc.limit); !got.Equal(tc.want) {
			t.Errorf("%v + %v = %v, want %v", tc.start, tc.limit, got.In(shanghai), tc.want)
		}
	}
	if _, err := newCalendar(true, []string{"11/12"}, shanghai); err == nil {
		t.Fatal("bad holiday accepted")
	}
}

func TestFakeClockConcurrent(t *testing.T) {
	c := NewFakeClock(t0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { c.Advance(time.Second); _ = c.Now() })
	}
	wg.Wait()
	if !c.Now().Equal(t0.Add(4 * time.Second)) {
		t.Fatal(c.Now())
	}
}
