package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"pingan/internal/auth"
	"pingan/internal/store"
)

// Group-by dimensions for statistics.
const (
	GroupByType       = "type"
	GroupByRegion     = "region"
	GroupByDepartment = "department"
	GroupBySource     = "source"
)

// StatsQuery selects cases created in [From, To) (or in Month, "YYYY-MM" in
// the center's zone, which then overrides From/To) inside Region ∩ scope.
type StatsQuery struct {
	From    time.Time
	To      time.Time
	Month   string
	Region  string
	GroupBy string // "", type, region, department or source
}

// Stats are the bulletin numbers of a set of cases. Resolved means handled
// (办结) and not reopened; resolution rate is resolved/accepted (化解率);
// on time means resolved without ever going red; township share is the
// share of resolved cases handled at township level (小事不出村).
type Stats struct {
	Received         int     `json:"received"`
	Accepted         int     `json:"accepted"`
	Resolved         int     `json:"resolved"`
	ResolutionRate   float64 `json:"resolution_rate"`
	OnTime           int     `json:"on_time"`
	OnTimeRate       float64 `json:"on_time_rate"`
	Closed           int     `json:"closed"`
	AvgCloseHours    float64 `json:"avg_close_hours"`
	Returns          int     `json:"returns"`
	SatisfactionN    int     `json:"satisfaction_count"`
	SatisfactionMean float64 `json:"satisfaction_mean"`
	SatisfactionRate float64 `json:"satisfaction_rate"` // share of 4 and 5
	Red              int     `json:"red"`
	Yellow           int     `json:"yellow"`
	ResolvedTownship int     `json:"resolved_township"`
	TownshipShare    float64 `json:"township_share"`

	closeSum  float64
	satSum    int
	satisfied int
}

// StatsGroup is the stats of one group-by key.
type StatsGroup struct {
	Key string `json:"key"`
	Stats
}

// StatsReport is the answer to a StatsQuery. Frozen is true when the
// numbers come from a month snapshot.
type StatsReport struct {
	From    time.Time    `json:"from"`
	To      time.Time    `json:"to"`
	Region  string       `json:"region"`
	GroupBy string       `json:"group_by,omitempty"`
	Frozen  bool         `json:"frozen"`
	Total   Stats        `json:"total"`
	Groups  []StatsGroup `json:"groups,omitempty"`
}

// caseFact is what statistics need of one case; snapshots freeze these.
type caseFact struct {
	Region      string    `json:"r"`
	Escalated   string    `json:"e,omitempty"`
	Type        string    `json:"t"`
	Source      string    `json:"s"`
	Departments []string  `json:"d,omitempty"`
	Created     time.Time `json:"c"`
	Accepted    bool      `json:"a,omitempty"`
	Resolved    bool      `json:"v,omitempty"`
	OnTime      bool      `json:"o,omitempty"`
	Township    bool      `json:"w,omitempty"`
	Closed      bool      `json:"x,omitempty"`
	CloseHours  float64   `json:"h,omitempty"`
	Returns     int       `json:"n,omitempty"`
	Sat         int       `json:"q,omitempty"`
	Red         bool      `json:"red,omitempty"`
	Yellow      bool      `json:"yel,omitempty"`
}

func factOf(c *Case) caseFact {
	f := caseFact{Region: c.Region, Escalated: c.EscalatedTo, Type: c.Type, Source: string(c.Source),
		Created: c.Created, Accepted: !c.AcceptedAt.IsZero(), Resolved: !c.HandledAt.IsZero(),
		Returns: c.Returns, Sat: c.Satisfaction, Red: c.EverRed, Yellow: c.EverYellow}
	f.OnTime = f.Resolved && !c.EverRed
	f.Township = f.Resolved && c.ResolvedLevel == LevelTownship
	if c.State == StateClosed {
		f.Closed, f.CloseHours = true, c.ClosedAt.Sub(c.Created).Hours()
	}
	for _, a := range c.Departments {
		f.Departments = append(f.Departments, string(a.Department))
	}
	return f
}

func (st *Stats) add(f caseFact) {
	st.Received++
	st.Returns += f.Returns
	count := func(b bool, n *int) {
		if b {
			*n++
		}
	}
	count(f.Accepted, &st.Accepted)
	count(f.Resolved, &st.Resolved)
	count(f.OnTime, &st.OnTime)
	count(f.Township, &st.ResolvedTownship)
	count(f.Closed, &st.Closed)
	count(f.Red, &st.Red)
	count(f.Yellow, &st.Yellow)
	if f.Closed {
		st.closeSum += f.CloseHours
	}
	if f.Sat > 0 {
		st.SatisfactionN++
		st.satSum += f.Sat
		count(f.Sat >= 4, &st.satisfied)
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func (st *Stats) finish() {
	st.ResolutionRate = ratio(float64(st.Resolved), float64(st.Accepted))
	st.OnTimeRate = ratio(float64(st.OnTime), float64(st.Resolved))
	st.AvgCloseHours = ratio(st.closeSum, float64(st.Closed))
	st.SatisfactionMean = ratio(float64(st.satSum), float64(st.SatisfactionN))
	st.SatisfactionRate = ratio(float64(st.satisfied), float64(st.SatisfactionN))
	st.TownshipShare = ratio(float64(st.ResolvedTownship), float64(st.Resolved))
}

var statsReaders = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader}

// Stats computes the numbers for the query inside p's scope. A query for
// exactly a snapshotted month reads the frozen facts.
func (s *Service) Stats(ctx context.Context, p auth.Principal, q StatsQuery) (*StatsReport, error) {
	if !p.Is(statsReaders...) {
		return nil, ErrForbidden
	}
	if err := s.normaliseQuery(&q); err != nil {
		return nil, err
	}
	region, ok := narrowest(p.Region, q.Region)
	rep := &StatsReport{From: q.From, To: q.To, Region: region, GroupBy: q.GroupBy}
	if !ok {
		rep.Total.finish()
		return rep, nil
	}
	facts, frozen, err := s.snapshotFacts(ctx, q)
	if err != nil {
		return nil, err
	}
	if !frozen {
		if facts, err = s.liveFacts(ctx, q.From, q.To); err != nil {
			return nil, err
		}
	}
	rep.Frozen = frozen
	aggregate(rep, facts, region)
	return rep, nil
}

func (s *Service) normaliseQuery(q *StatsQuery) error {
	switch q.GroupBy {
	case "", GroupByType, GroupByRegion, GroupByDepartment, GroupBySource:
	default:
		return invalid("group_by", "want type, region, department or source")
	}
	if q.Month != "" {
		from, to, err := s.monthBounds(q.Month)
		if err != nil {
			return err
		}
		q.From, q.To = from, to
	}
	if q.To.IsZero() {
		q.To = s.now()
	}
	if !q.From.Before(q.To) {
		return invalid("from", "must be before to")
	}
	q.From, q.To = q.From.UTC(), q.To.UTC()
	return nil
}

// liveFacts reads every case created in [from, to).
func (s *Service) liveFacts(ctx context.Context, from, to time.Time) ([]caseFact, error) {
	ents, err := s.st.IndexRange(ctx, idxCases, store.Range{Min: ms(from), Max: ms(to) - 1})
	if err != nil {
		return nil, fmt.Errorf("dispatch: stats: %w", err)
	}
	facts := make([]caseFact, 0, len(ents))
	for _, e := range ents {
		c, err := s.loadCase(ctx, CaseID(e.Member))
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		facts = append(facts, factOf(c))
	}
	return facts, nil
}

// aggregate fills the report from the facts inside region.
func aggregate(rep *StatsReport, facts []caseFact, region string) {
	groups := map[string]*Stats{}
	for _, f := range facts {
		if !inScope(region, f.Region) && (f.Escalated == "" || !inScope(region, f.Escalated)) {
			continue
		}
		rep.Total.add(f)
		for _, k := range groupKeys(f, rep.GroupBy) {
			if groups[k] == nil {
				groups[k] = &Stats{}
			}
			groups[k].add(f)
		}
	}
	rep.Total.finish()
	for k, g := range groups {
		g.finish()
		rep.Groups = append(rep.Groups, StatsGroup{Key: k, Stats: *g})
	}
	sort.Slice(rep.Groups, func(i, j int) bool { return rep.Groups[i].Key < rep.Groups[j].Key })
}

func groupKeys(f caseFact, by string) []string {
	switch by {
	case GroupByType:
		return []string{f.Type}
	case GroupByRegion:
		return []string{f.Region}
	case GroupBySource:
		return []string{f.Source}
	case GroupByDepartment:
		if len(f.Departments) == 0 {
			return []string{"(unrouted)"}
		}
		return f.Departments
	}
	return nil
}
