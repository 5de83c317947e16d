package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"pingan/configs"
	"pingan/internal/auth"
	"pingan/internal/store"
)

// Store keys, indexes, logs, sequences and topics used by dispatch.
const (
	keyCase      = "dispatch/case/"         // + code → JSON Case
	keyExtID     = "dispatch/extid/"        // + external id → case code
	keyDept      = "dispatch/department/"   // + id → JSON Department
	keyIncident  = "dispatch/incident/"     // + id → JSON Incident
	keySnapshot  = "dispatch/snapshot/"     // + YYYY-MM → JSON snapshot
	idxCases     = "dispatch/cases"         // every case; score = created unix ms
	idxRegion    = "dispatch/cases/region/" // + region prefix (2/4/6/9 digits); score = created unix ms
	idxState     = "dispatch/cases/state/"  // + state; score = created unix ms
	idxOpen      = "dispatch/cases/open"    // non-terminal cases; score = created unix ms
	idxDeadlines = "dispatch/deadlines"     // open cases; score = next colour threshold unix ms
	idxIncidents = "dispatch/incidents"     // every incident; score = created unix ms
	seqCase      = "dispatch/seq/case/"     // + region/YYYYMMDD → daily case sequence
	seqIncident  = "dispatch/seq/incident"  // incident numbers
	logEvents    = "events"                 // global event log (JSON Event)
	topicEvents  = "events"                 // decimal offset of the newest event
)

// Service is the dispatch domain: cases, workflow, deadlines, incidents,
// departments, intake, events and statistics. It is safe for concurrent use
// and holds no state of its own besides configuration: several Services
// (hubs) may share one Redis store.
type Service struct {
	st  store.Store
	cfg configs.DispatchConfig
	// seed are the configured case types (dispatch.case_types): the
	// defaults of CaseTypes, and the limits of cases registered before
	// cases carried their own.
	seed  map[string]configs.CaseType
	loc   *time.Location
	clk   Clock
	log   *slog.Logger
	cal   calendar
	share float64
	// Poll is how often the scheduler looks for due thresholds. Default 100ms.
	poll time.Duration

	pub *offsetPublisher

	mu      sync.RWMutex
	cameras CameraLocator
}

// New builds a Service. loc is the center's time zone (nil = Asia/Shanghai,
// else UTC when the zone database is missing); clk nil = RealClock; log nil =
// discard. Zero config values take their documented defaults.
func New(st store.Store, cfg configs.DispatchConfig, loc *time.Location, clk Clock, log *slog.Logger) (*Service, error) {
	if st == nil {
		return nil, errors.New("dispatch: nil store")
	}
	if loc == nil {
		l, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			l = time.UTC
		}
		loc = l
	}
	if clk == nil {
		clk = RealClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.CaseTypes) == 0 {
		cfg.CaseTypes = configs.DefaultCaseTypes()
	}
	if cfg.YellowShare <= 0 || cfg.YellowShare >= 1 {
		cfg.YellowShare = 1.0 / 3
	}
	if cfg.Hotline.ReplayWindow <= 0 {
		cfg.Hotline.ReplayWindow = configs.Duration(5 * time.Minute)
	}
	cal, err := newCalendar(cfg.WorkingDays, cfg.Holidays, loc)
	if err != nil {
		return nil, err
	}
	s := &Service{st: st, cfg: cfg, loc: loc, clk: clk, log: log, cal: cal,
		share: cfg.YellowShare, poll: 100 * time.Millisecond, seed: map[string]configs.CaseType{},
		pub: newOffsetPublisher(st, log)}
	for _, t := range cfg.CaseTypes {
		s.seed[t.ID] = t
	}
	return s, nil
}

// SetCameraLocator wires the device registry used by NearbyCameras.
func (s *Service) SetCameraLocator(l CameraLocator) {
	s.mu.Lock()
	s.cameras = l
	s.mu.Unlock()
}

func (s *Service) now() time.Time { return s.clk.Now().UTC() }

func inScope(scope, region string) bool { return auth.InScope(scope, region) }

func ms(t time.Time) float64 { return float64(t.UnixMilli()) }

// loadCase reads a case; a malformed code or a missing record is ErrNotFound.
func (s *Service) loadCase(ctx context.Context, code CaseID) (*Case, error) {
	if !code.Valid() {
		return nil, ErrNotFound
	}
	rec, err := s.st.Get(ctx, keyCase+string(code))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dispatch: load case %s: %w", code, err)
	}
	c := new(Case)
	if err := json.Unmarshal(rec.Value, c); err != nil {
		return nil, fmt.Errorf("dispatch: decode case %s: %w", code, err)
	}
	c.Version = rec.Version
	return c, nil
}

// loadVisible is loadCase plus the scope check (outside scope = ErrNotFound).
func (s *Service) loadVisible(ctx context.Context, p auth.Principal, code CaseID) (*Case, error) {
	c, err := s.loadCase(ctx, code)
	if err != nil {
		return nil, err
	}
	if !c.visibleTo(p.Region) {
		return nil, ErrNotFound
	}
	return c, nil
}

// commit appends the events to the global log inside b, applies b and has
// the newest offset published (asynchronously). It returns the store result.
func (s *Service) commit(ctx context.Context, b *store.Batch, evs ...Event) (store.Result, error) {
	for i := range evs {
		data, err := json.Marshal(evs[i])
		if err != nil {
			return store.Result{}, fmt.Errorf("dispatch: encode event: %w", err)
		}
		b.Append(logEvents, data)
	}
	res, err := s.st.Apply(ctx, b)
	if err != nil {
		return res, err
	}
	if n := len(res.Offsets); n > 0 {
		s.pub.notify(res.Offsets[n-1])
	}
	return res, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("dispatch: encode %T: %v", v, err)) // our own types always encode
	}
	return b
}

func actorOf(p auth.Principal) string {
	if p.Username != "" {
		return p.Username
	}
	return string(p.Role)
}
