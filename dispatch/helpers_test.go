package dispatch

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"pingan/configs"
	"pingan/internal/auth"
	"pingan/internal/store"
	"pingan/internal/store/bolt"
)

// backend opens a fresh, empty store for a test.
type backend struct {
	name string
	open func(t testing.TB) store.Store
}

// backends lists the store backends every dispatch test runs against;
// redis_test.go adds Redis.
var backends = []backend{{"bolt", openBolt}}

func openBolt(t testing.TB) store.Store {
	t.Helper()
	return openBoltAt(t, filepath.Join(t.TempDir(), "pingan.db"))
}

func openBoltAt(t testing.TB, path string) store.Store {
	t.Helper()
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// forEach runs fn as a subtest per backend.
func forEach(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.open(t)) })
	}
}

// t0 is a Tuesday morning in the center's zone.
var (
	shanghai = mustZone("Asia/Shanghai")
	t0       = time.Date(2026, 11, 10, 10, 0, 0, 0, shanghai)
)

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}

// Principals used across tests.
var (
	admin      = auth.Principal{Username: "admin", Role: auth.RoleAdmin}
	xiaodian   = auth.Principal{Username: "op105", Role: auth.RoleOperator, Region: "140105"}
	yingze     = auth.Principal{Username: "op106", Role: auth.RoleOperator, Region: "140106"}
	grid105    = auth.Principal{Username: "grid1", Role: auth.RoleGrid, Region: "140105"}
	trainee105 = auth.Principal{Username: "tr1", Role: auth.RoleTrainee, Region: "140105"}
)

func testConfig() configs.DispatchConfig {
	cfg := configs.Default().Dispatch
	s := func(d time.Duration) configs.Duration { return configs.Duration(d) }
	cfg.CaseTypes = append(cfg.CaseTypes,
		configs.CaseType{ID: "fast", Name: "fast", Limits: map[string]configs.Duration{
			"accept": s(3 * time.Second), "route": s(3 * time.Second), "checkin": s(3 * time.Second),
			"handle": s(3 * time.Second), "report": s(3 * time.Second), "followup": s(3 * time.Second)}},
		configs.CaseType{ID: "subsec", Name: "subsec", Limits: map[string]configs.Duration{
			"accept": s(600 * time.Millisecond)}})
	cfg.Hotline.Secret = "s3cret"
	cfg.Hotline.Region = "140105"
	return cfg
}

// newService builds a Service over st with departments d1, d2 (140105) and d3 (1401).
func newService(t testing.TB, st store.Store, clk Clock) *Service {
	t.Helper()
	svc, err := New(st, testConfig(), shanghai, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range []Department{{ID: "d1", Name: "司法所", Region: "140105"},
		{ID: "d2", Name: "派出所", Region: "140105"}, {ID: "d3", Name: "市信访局", Region: "1401"}} {
		if _, err := svc.CreateDepartment(ctx, admin, d); err != nil && KindOf(err) != KindInvalid {
			t.Fatal(err)
		}
	}
	return svc
}

// runScheduler starts svc.Run until the test ends.
func runScheduler(t testing.TB, svc *Service) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func newCase(typ string) NewCase {
	return NewCase{Type: typ, Source: SourceWalkin, Title: "邻里噪音纠纷", Description: "楼上装修噪音",
		Location: Location{Address: "小店区平阳路1号", Lat: 37.8, Lon: 112.56}, Region: "140105",
		Parties: []Party{{Name: "张三", Role: "applicant"}}}
}

func mustCreate(t testing.TB, svc *Service, p auth.Principal, nc NewCase) *Case {
	t.Helper()
	c, err := svc.Create(context.Background(), p, nc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// step performs an action as admin with the case's current version.
func step(t testing.TB, svc *Service, c *Case, req TransitionRequest) *Case {
	t.Helper()
	return stepAs(t, svc, admin, c, req)
}

func stepAs(t testing.TB, svc *Service, p auth.Principal, c *Case, req TransitionRequest) *Case {
	t.Helper()
	req.Version = c.Version
	n, err := svc.Transition(context.Background(), p, c.Code, req)
	if err != nil {
		t.Fatalf("%s from %s: %v", req.Action, c.State, err)
	}
	return n
}

func act(a Action) TransitionRequest { return TransitionRequest{Action: a} }

func dept(a Action, d DepartmentID) TransitionRequest {
	return TransitionRequest{Action: a, Department: d}
}

// allEvents reads the whole event log as admin.
func allEvents(t testing.TB, svc *Service) []Event {
	t.Helper()
	var out []Event
	for after := uint64(0); ; {
		pg, err := svc.ReadEvents(context.Background(), admin, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pg.Events...)
		if pg.Next == after {
			return out
		}
		after = pg.Next
	}
}

func countType(evs []Event, typ string, code CaseID) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ && (code == "" || e.Case == code) {
			n++
		}
	}
	return n
}

// waitFor polls cond every 10 ms for up to d.
func waitFor(t testing.TB, d time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

func sorted(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	return out
}

func isKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }
