package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pingan/internal/store"
)

func TestWorkflowHappyPath(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		c := mustCreate(t, svc, xiaodian, newCase("dispute"))
		if !c.Code.Valid() || !strings.HasPrefix(string(c.Code), "14010520261110") || c.Level != LevelCounty {
			t.Fatalf("code %s level %s", c.Code, c.Level)
		}
		if c.State != StateRegistered || c.Version != 1 || c.Colour != Green || c.Stage != stageAccept {
			t.Fatalf("new case: %+v", c)
		}
		c = stepAs(t, svc, xiaodian, c, act(ActAccept))
		c = stepAs(t, svc, xiaodian, c, TransitionRequest{Action: ActRoute, Departments: []DepartmentID{"d1", "d2"}})
		if c.State != StateRouted || c.Stage != stageCheckin || len(c.Departments) != 2 {
			t.Fatalf("routed: %+v", c)
		}
		c = step(t, svc, c, dept(ActCheckin, "d1"))
		c = step(t, svc, c, dept(ActStart, "d1"))
		if c.State != StateHandling {
			t.Fatalf("start did not move the case to handling: %s", c.State)
		}
		c = step(t, svc, c, TransitionRequest{Action: ActReject, Department: "d2", Reason: "不属本部门职责"})
		if c.Stage != stageHandle {
			t.Fatalf("stage after every department checked in or rejected: %s", c.Stage)
		}
		c = step(t, svc, c, TransitionRequest{Action: ActFinish, Department: "d1",
			Evidence: []Evidence{{Kind: EvidenceRecording, Ref: "rec-1"}}})
		c = step(t, svc, c, act(ActHandle))
		c = step(t, svc, c, act(ActReport))
		c = stepAs(t, svc, grid105, c, TransitionRequest{Action: ActFollowup, Satisfaction: 5})
		c = step(t, svc, c, act(ActClose))
		if c.State != StateClosed || c.ClosedAt.IsZero() || c.Satisfaction != 5 || len(c.Evidence) != 1 {
			t.Fatalf("closed: %+v", c)
		}
		if got := len(c.Timeline); got != 11 {
			t.Fatalf("timeline has %d entries, want 11", got)
		}
		got, err := svc.Get(context.Background(), xiaodian, c.Code)
		if err != nil || got.Version != c.Version || got.State != StateClosed {
			t.Fatalf("get: %v %+v", err, got)
		}
		evs := allEvents(t, svc)
		if n := countType(evs, EventCaseTransition, c.Code) + countType(evs, "department.checkin", c.Code) +
			countType(evs, "department.start", c.Code) + countType(evs, "department.reject", c.Code) +
			countType(evs, "department.finish", c.Code); n != 10 {
			t.Fatalf("%d transition events, want 10", n)
		}
	})
}

func TestFollowupDissatisfiedReopens(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		c := reach(t, svc, StateReported)
		c = step(t, svc, c, TransitionRequest{Action: ActFollowup, Satisfaction: 2})
		if c.State != StateRouted || c.Departments[0].State != DeptPending || c.Stage != stageCheckin {
			t.Fatalf("reopen: %s %+v %s", c.State, c.Departments, c.Stage)
		}
	})
}

// reach drives a new case to state (suspended = accepted + suspend).
func reach(t testing.TB, svc *Service, target State) *Case {
	t.Helper()
	c := mustCreate(t, svc, admin, newCase("dispute"))
	path := map[State][]TransitionRequest{
		StateRegistered: nil,
		StateAccepted:   {act(ActAccept)},
		StateRouted:     {act(ActAccept), {Action: ActRoute, Departments: []DepartmentID{"d1", "d2"}}},
		StateHandling: {act(ActAccept), {Action: ActRoute, Departments: []DepartmentID{"d1", "d2"}},
			dept(ActCheckin, "d1"), dept(ActStart, "d1")},
		StateReturned:    {act(ActAccept), {Action: ActReturn, Reason: "材料不全"}},
		StateInvalidated: {{Action: ActInvalidate, Reason: "不属受理范围"}},
		"suspended":      {act(ActAccept), {Action: ActSuspend, Reason: "等待鉴定"}},
	}
	done := []TransitionRequest{act(ActAccept), {Action: ActRoute, Departments: []DepartmentID{"d1"}},
		dept(ActCheckin, "d1"), dept(ActStart, "d1"), dept(ActFinish, "d1"), act(ActHandle)}
	path[StateHandled] = done
	path[StateReported] = append(slices.Clip(done), act(ActReport))
	path[StateFollowedUp] = append(slices.Clip(path[StateReported]), TransitionRequest{Action: ActFollowup, Satisfaction: 4})
	path[StateClosed] = append(slices.Clip(path[StateFollowedUp]), act(ActClose))
	if target == StateMerged {
		other := mustCreate(t, svc, admin, newCase("dispute"))
		path[StateMerged] = []TransitionRequest{{Action: ActMerge, Target: other.Code}}
	}
	steps, ok := path[target]
	if !ok {
		t.Fatalf("no path to %s", target)
	}
	for _, r := range steps {
		c = step(t, svc, c, r)
	}
	return c
}

// expectedAllowed is the workflow written out independently of the table.
var expectedAllowed = map[State][]Action{
	StateRegistered:  {ActAccept, ActEscalate, ActSuspend, ActExtend, ActMerge, ActInvalidate},
	StateAccepted:    {ActRoute, ActReturn, ActEscalate, ActSuspend, ActExtend, ActMerge, ActInvalidate},
	StateRouted:      {ActCheckin, ActStart, ActReject, ActReturn, ActEscalate, ActSuspend, ActExtend},
	StateHandling:    {ActCheckin, ActStart, ActFinish, ActReject, ActReturn, ActEscalate, ActSuspend, ActExtend},
	StateHandled:     {ActReport, ActReturn, ActSuspend, ActExtend},
	StateReported:    {ActFollowup, ActReturn, ActSuspend, ActExtend},
	StateFollowedUp:  {ActClose, ActSuspend, ActExtend},
	StateClosed:      {},
	StateMerged:      {},
	StateInvalidated: {},
	StateReturned:    {ActAccept, ActRoute, ActEscalate, ActSuspend, ActExtend, ActMerge, ActInvalidate},
	"suspended":      {ActResume, ActMerge, ActInvalidate},
}

func TestEveryIllegalTransition(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		for state, allowed := range expectedAllowed {
			c := reach(t, svc, state)
			want := make([]string, len(allowed))
			for i, a := range allowed {
				want[i] = string(a)
			}
			if got := AllowedActions(c); !slices.Equal(sorted(got), sorted(want)) {
				t.Errorf("%s: allowed %v, want %v", state, got, want)
			}
			for _, r := range Workflow {
				if slices.Contains(allowed, r.Action) {
					continue
				}
				_, err := svc.Transition(context.Background(), admin, c.Code,
					TransitionRequest{Action: r.Action, Version: c.Version, Reason: "x", Satisfaction: 3,
						Department: "d1", Departments: []DepartmentID{"d1"}, Deadline: t0.Add(time.Hour)})
				var se *StateError
				if !errors.As(err, &se) || se.Action != string(r.Action) || !slices.Equal(sorted(se.Allowed), sorted(want)) {
					t.Errorf("%s --%s--> %v, want StateError allowing %v", state, r.Action, err, want)
				} else if KindOf(err).Status() != 409 {
					t.Errorf("status %d", KindOf(err).Status())
				}
			}
		}
	})
}

func TestDepartmentSubStateErrors(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		c := reach(t, svc, StateRouted)
		_, err := svc.Transition(context.Background(), admin, c.Code, TransitionRequest{Action: ActStart, Version: c.Version, Department: "d1"})
		var se *StateError
		if !errors.As(err, &se) || !slices.Equal(se.Allowed, []string{"checkin", "reject"}) {
			t.Fatalf("start while pending: %v", err)
		}
		_, err = svc.Transition(context.Background(), admin, c.Code, TransitionRequest{Action: ActCheckin, Version: c.Version, Department: "d3"})
		if !isKind(err, KindInvalid) {
			t.Fatalf("unrouted department: %v", err)
		}
		// Every department rejecting sends the case back to accepted.
		c = step(t, svc, c, TransitionRequest{Action: ActReject, Department: "d1", Reason: "no"})
		c = step(t, svc, c, TransitionRequest{Action: ActReject, Department: "d2", Reason: "no"})
		if c.State != StateAccepted || c.Stage != stageRoute {
			t.Fatalf("all rejected: %s %s", c.State, c.Stage)
		}
	})
}

func TestTransitionErrors(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		ctx := context.Background()
		c := reach(t, svc, StateAccepted)
		tr := func(p any, req TransitionRequest) error {
			_, err := svc.Transition(ctx, xiaodian, c.Code, req)
			return err
		}
		var stale *StaleError
		if err := tr(nil, TransitionRequest{Action: ActRoute, Version: c.Version - 1, Departments: []DepartmentID{"d1"}}); !errors.As(err, &stale) || stale.Current != c.Version {
			t.Fatalf("stale: %v", err)
		}
		if err := tr(nil, TransitionRequest{Action: ActExtend, Version: c.Version, Deadline: t0.Add(time.Hour)}); !errors.Is(err, ErrForbidden) {
			t.Fatalf("operator extend: %v", err)
		}
		cases := []struct {
			req   TransitionRequest
			field string
		}{
			{TransitionRequest{Action: ActReturn}, fieldReason},
			{TransitionRequest{Action: ActInvalidate, Reason: "  "}, fieldReason},
			{TransitionRequest{Action: ActRoute}, fieldDepartments},
			{TransitionRequest{Action: ActRoute, Departments: []DepartmentID{"nope"}}, fieldDepartments},
			{TransitionRequest{Action: ActMerge}, fieldTarget},
			{TransitionRequest{Action: ActMerge, Target: c.Code}, fieldTarget},
			{TransitionRequest{Action: "fly"}, "action"},
		}
		for _, tc := range cases {
			tc.req.Version = c.Version
			var ve *ValidationError
			if err := tr(nil, tc.req); !errors.As(err, &ve) || ve.Field != tc.field || KindOf(err).Status() != 422 {
				t.Errorf("%+v: %v, want field %s", tc.req, err, tc.field)
			}
		}
		_, err := svc.Transition(ctx, admin, c.Code, TransitionRequest{Action: ActExtend, Version: c.Version, Deadline: t0.Add(-time.Hour)})
		if !isKind(err, KindInvalid) {
			t.Fatalf("extend into the past: %v", err)
		}
		r := reach(t, svc, StateReported)
		for _, sat := range []int{0, 6} {
			_, err := svc.Transition(ctx, admin, r.Code, TransitionRequest{Action: ActFollowup, Version: r.Version, Satisfaction: sat})
			if !isKind(err, KindInvalid) {
				t.Fatalf("satisfaction %d: %v", sat, err)
			}
		}
		if _, err := svc.Transition(ctx, trainee105, c.Code, TransitionRequest{Action: ActRoute, Version: c.Version,
			Departments: []DepartmentID{"d1"}}); !errors.Is(err, ErrForbidden) {
			t.Fatalf("trainee: %v", err)
		}
	})
}

func TestScope(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		ctx := context.Background()
		nc := newCase("dispute")
		nc.Region = "140106"
		c := mustCreate(t, svc, yingze, nc)
		if _, err := svc.Get(ctx, xiaodian, c.Code); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get other county: %v", err)
		}
		if _, err := svc.Transition(ctx, xiaodian, c.Code, TransitionRequest{Action: ActAccept, Version: c.Version}); !errors.Is(err, ErrNotFound) || KindOf(err).Status() != 404 {
			t.Fatalf("act on other county: %v", err)
		}
		if _, err := svc.Create(ctx, xiaodian, nc); !isKind(err, KindInvalid) {
			t.Fatalf("create outside scope: %v", err)
		}
		list, _, err := svc.List(ctx, xiaodian, Filter{})
		if err != nil || len(list) != 0 {
			t.Fatalf("list: %v %d", err, len(list))
		}
		if evs, _, _ := svc.Events(ctx, xiaodian, 0, 100); countType(evs, EventCaseCreated, c.Code) != 0 {
			t.Fatal("event of another county leaked")
		}
		city := yingze
		city.Region = "1401"
		if _, err := svc.Get(ctx, city, c.Code); err != nil {
			t.Fatalf("city sees its counties: %v", err)
		}
		// Escalation raises the responsible level.
		c = stepAs(t, svc, yingze, c, act(ActEscalate))
		if c.EscalatedTo != "1401" || c.Level != LevelCity {
			t.Fatalf("escalate: %s %s", c.EscalatedTo, c.Level)
		}
	})
}

func TestConcurrentTransitions(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		ctx := context.Background()
		c := reach(t, svc, StateAccepted)
		before := len(allEvents(t, svc))
		const n = 50
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = svc.Transition(ctx, admin, c.Code, TransitionRequest{Action: ActExtend,
					Version: c.Version, Deadline: t0.Add(time.Duration(i+1) * time.Hour)})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			var se *StaleError
			switch {
			case err == nil:
				ok++
			case !errors.As(err, &se) || se.Current != c.Version+1:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d transitions succeeded, want exactly 1", ok)
		}
		if evs := allEvents(t, svc); len(evs)-before != 1 {
			t.Fatalf("%d events, want 1", len(evs)-before)
		}
	})
}

// 50 clients that re-read and retry on a stale version: every update lands.
func TestConcurrentRetriesLoseNothing(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		ctx := context.Background()
		c := reach(t, svc, StateAccepted)
		before := len(allEvents(t, svc))
		const n = 50
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				for {
					cur, err := svc.Get(ctx, admin, c.Code)
					if err != nil {
						errs[i] = err
						return
					}
					_, err = svc.Transition(ctx, admin, c.Code, TransitionRequest{Action: ActExtend,
						Version: cur.Version, Deadline: t0.Add(time.Duration(i+1) * time.Hour)})
					var se *StaleError
					if !errors.As(err, &se) {
						errs[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, _ := svc.Get(ctx, admin, c.Code)
		extends := 0
		for _, e := range got.Timeline {
			if e.Action == string(ActExtend) {
				extends++
			}
		}
		if got.Version != c.Version+n || extends != n {
			t.Fatalf("version %d (want %d), %d extends in timeline (want %d)", got.Version, c.Version+n, extends, n)
		}
		if evs := allEvents(t, svc); len(evs)-before != n {
			t.Fatalf("%d events, want %d", len(evs)-before, n)
		}
	})
}

func TestListFilterAndCursor(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		clk := NewFakeClock(t0)
		svc := newService(t, st, clk)
		ctx := context.Background()
		var codes []CaseID
		for i := range 7 {
			nc := newCase("dispute")
			nc.Title = fmt.Sprintf("case %d", i)
			if i%2 == 1 {
				nc.Type, nc.Region = "hazard", "140105001"
			}
			codes = append(codes, mustCreate(t, svc, admin, nc).Code)
			clk.Advance(time.Millisecond)
		}
		var got []CaseID
		for cur := ""; ; {
			page, next, err := svc.List(ctx, xiaodian, Filter{Limit: 3, Cursor: cur})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				got = append(got, c.Code)
			}
			if next == "" {
				break
			}
			cur = next
		}
		want := slices.Clone(codes)
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Fatalf("pages %v, want %v", got, want)
		}
		for _, tc := range []struct {
			f Filter
			n int
		}{
			{Filter{Type: "hazard"}, 3},
			{Filter{Region: "140105001"}, 3},
			{Filter{State: StateRegistered}, 7},
			{Filter{State: StateClosed}, 0},
			{Filter{Colour: Green}, 7},
			{Filter{Q: "CASE 4"}, 1},
			{Filter{Q: string(codes[2])}, 1},
			{Filter{Region: "140106"}, 0},
		} {
			page, _, err := svc.List(ctx, xiaodian, tc.f)
			if err != nil || len(page) != tc.n {
				t.Errorf("%+v: %d cases (%v), want %d", tc.f, len(page), err, tc.n)
			}
		}
		if _, _, err := svc.List(ctx, xiaodian, Filter{Cursor: "garbage"}); !isKind(err, KindInvalid) {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func TestCreateValidationAndIdempotency(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		ctx := context.Background()
		bad := []func(*NewCase){
			func(n *NewCase) { n.Type = "nope" },
			func(n *NewCase) { n.Source = "fax" },
			func(n *NewCase) { n.Title = " " },
			func(n *NewCase) { n.Region = "1401" },
			func(n *NewCase) { n.Location.Lat = 91 },
			func(n *NewCase) { n.Evidence = []Evidence{{Kind: "video", Ref: "x"}} },
			func(n *NewCase) { n.ExternalID = "has space" },
		}
		for i, f := range bad {
			nc := newCase("dispute")
			f(&nc)
			if _, err := svc.Create(ctx, admin, nc); !isKind(err, KindInvalid) {
				t.Errorf("bad case %d: %v", i, err)
			}
		}
		nc := newCase("dispute")
		nc.ExternalID = "WO-1"
		var wg sync.WaitGroup
		got := make([]*Case, 8)
		for i := range got {
			wg.Go(func() {
				c, err := svc.Create(ctx, admin, nc)
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = c
			})
		}
		wg.Wait()
		fresh := 0
		for _, c := range got {
			if c == nil || c.Code != got[0].Code {
				t.Fatalf("external id gave different cases")
			}
			if !c.Existing {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("%d creations claimed to be new", fresh)
		}
	})
}
