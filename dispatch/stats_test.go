package dispatch

import (
	"context"
	"errors"
	"testing"
	"time"

	"pingan/internal/store"
)

func TestStatsAndSnapshot(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		clk := NewFakeClock(t0)
		svc := newService(t, st, clk)
		ctx := context.Background()
		closed := reach(t, svc, StateClosed) // satisfaction 4, handled at county level
		reach(t, svc, StateReturned)         // accepted, returned once
		reach(t, svc, StateRegistered)
		twn := newCase("hazard")
		twn.Region, twn.Source = "140105001", SourceGrid
		c := mustCreate(t, svc, admin, twn)
		for _, r := range []TransitionRequest{act(ActAccept), {Action: ActRoute, Departments: []DepartmentID{"d2"}},
			dept(ActCheckin, "d2"), dept(ActStart, "d2"), dept(ActFinish, "d2"), act(ActHandle)} {
			c = step(t, svc, c, r)
		}
		rep, err := svc.Stats(ctx, xiaodian, StatsQuery{Month: "2026-11", GroupBy: GroupByType})
		if err != nil {
			t.Fatal(err)
		}
		tot := rep.Total
		if tot.Received != 4 || tot.Accepted != 3 || tot.Resolved != 2 || tot.ResolutionRate != 2.0/3 ||
			tot.Returns != 1 || tot.SatisfactionN != 1 || tot.SatisfactionMean != 4 || tot.SatisfactionRate != 1 ||
			tot.ResolvedTownship != 1 || tot.TownshipShare != 0.5 || tot.OnTime != 2 || tot.Closed != 1 || rep.Frozen {
			t.Fatalf("total %+v", tot)
		}
		if len(rep.Groups) != 2 || rep.Groups[0].Key != "dispute" || rep.Groups[0].Received != 3 {
			t.Fatalf("groups %+v", rep.Groups)
		}
		byDept, _ := svc.Stats(ctx, admin, StatsQuery{Month: "2026-11", GroupBy: GroupByDepartment})
		if len(byDept.Groups) != 3 { // d1, d2, (unrouted)
			t.Fatalf("by department %+v", byDept.Groups)
		}
		if rep, _ := svc.Stats(ctx, yingze, StatsQuery{Month: "2026-11"}); rep.Total.Received != 0 {
			t.Fatal("another county's cases counted")
		}
		if _, err := svc.Stats(ctx, grid105, StatsQuery{}); !errors.Is(err, ErrForbidden) {
			t.Fatalf("grid stats: %v", err)
		}

		snap, err := svc.Snapshot(ctx, admin, "2026-11")
		if err != nil || snap.Cases != 4 {
			t.Fatalf("snapshot: %v %+v", err, snap)
		}
		// Later changes do not move the frozen month.
		step(t, svc, c, act(ActReport))
		clk.Advance(time.Hour)
		mustCreate(t, svc, admin, newCase("dispute"))
		frozen, err := svc.Stats(ctx, xiaodian, StatsQuery{Month: "2026-11"})
		if err != nil || !frozen.Frozen || frozen.Total.Received != 4 {
			t.Fatalf("frozen: %v %+v", err, frozen)
		}
		live, _ := svc.Stats(ctx, xiaodian, StatsQuery{From: t0.Add(-time.Hour), To: t0.Add(2 * time.Hour)})
		if live.Frozen || live.Total.Received != 5 {
			t.Fatalf("live: %+v", live)
		}
		again, err := svc.Snapshot(ctx, admin, "2026-11")
		if err != nil || !again.Existing || again.Cases != 4 {
			t.Fatalf("second snapshot: %v %+v", err, again)
		}
		_ = closed
	})
}
