package dispatch

import (
	"fmt"
	"time"
)

// Stages of the deadline clock (configs.Stages).
const (
	stageAccept   = "accept"
	stageRoute    = "route"
	stageCheckin  = "checkin"
	stageHandle   = "handle"
	stageReport   = "report"
	stageFollowup = "followup"
)

// calendar adds stage limits, in working days when enabled: a limit of 24h
// or more counts whole days as working days (Monday–Friday minus holidays,
// in the center's zone) and adds the remainder as plain time.
type calendar struct {
	workingDays bool
	holidays    map[string]bool
	loc         *time.Location
}

func newCalendar(working bool, holidays []string, loc *time.Location) (calendar, error) {
	c := calendar{workingDays: working, holidays: map[string]bool{}, loc: loc}
	for _, h := range holidays {
		if _, err := time.ParseInLocation(time.DateOnly, h, loc); err != nil {
			return c, fmt.Errorf("dispatch: holiday %q: want YYYY-MM-DD", h)
		}
		c.holidays[h] = true
	}
	return c, nil
}

func (c calendar) working(t time.Time) bool {
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !c.holidays[t.Format(time.DateOnly)]
}

// add returns start + limit, honouring the working-day calendar.
func (c calendar) add(start time.Time, limit time.Duration) time.Time {
	if !c.workingDays || limit < 24*time.Hour {
		return start.Add(limit)
	}
	days := int(limit / (24 * time.Hour))
	t := start.In(c.loc)
	for i := 0; days > 0 && i < 3660; i++ { // bounded even if every day is a holiday
		t = t.AddDate(0, 0, 1)
		if c.working(t) {
			days--
		}
	}
	return t.Add(limit % (24 * time.Hour)).UTC()
}

// stageFor is the deadline stage of the case's state ("" = no clock).
func stageFor(c *Case) string {
	switch c.State {
	case StateRegistered, StateReturned:
		return stageAccept
	case StateAccepted:
		return stageRoute
	case StateRouted, StateHandling:
		if c.countDepts()[DeptPending] > 0 {
			return stageCheckin
		}
		return stageHandle
	case StateHandled:
		return stageReport
	case StateReported:
		return stageFollowup
	}
	return ""
}

// limit is the case's time limit for a stage (0 = none): the handle
// override, else the limits the case copied from its type when it was
// registered, else (cases older than that copy) the configured type's.
func (s *Service) limit(c *Case, stage string) time.Duration {
	if stage == stageHandle && c.HandleLimit > 0 {
		return c.HandleLimit
	}
	if c.Limits != nil {
		return c.Limits[stage].D()
	}
	return s.seed[c.Type].Limits[stage].D()
}

// enterStage restarts the clock when the case's stage changed, and
// recomputes the colour at now.
func (s *Service) enterStage(c *Case, now time.Time) {
	st := stageFor(c)
	if st != c.Stage {
		c.Stage, c.StageStarted, c.Deadline = st, now, time.Time{}
		if lim := s.limit(c, st); st != "" && lim > 0 {
			c.Deadline = s.cal.add(now, lim)
		}
	}
	s.setColour(c, s.colourAt(c, now))
}

// setColour records the colour and the ever-yellow/red flags for statistics.
func (s *Service) setColour(c *Case, col Colour) {
	c.Colour = col
	switch col {
	case Yellow:
		c.EverYellow = true
	case Red:
		c.EverRed = true
	}
}

// yellowAt is when less than the yellow share of the stage's span is left.
func (s *Service) yellowAt(c *Case) time.Time {
	span := c.Deadline.Sub(c.StageStarted)
	return c.Deadline.Add(-time.Duration(float64(span) * s.share))
}

// colourAt is the case's colour at now. A suspended case keeps its colour.
func (s *Service) colourAt(c *Case, now time.Time) Colour {
	switch {
	case c.Suspended && c.Colour != "":
		return c.Colour
	case c.Deadline.IsZero() || c.State.Terminal():
		return Green
	case !now.Before(c.Deadline):
		return Red
	case !now.Before(s.yellowAt(c)):
		return Yellow
	}
	return Green
}

// nextThreshold is the next instant the colour changes (zero = never).
func (s *Service) nextThreshold(c *Case, now time.Time) time.Time {
	if c.Suspended || c.Deadline.IsZero() || c.State.Terminal() {
		return time.Time{}
	}
	if y := s.yellowAt(c); now.Before(y) {
		return y
	}
	if now.Before(c.Deadline) {
		return c.Deadline
	}
	return time.Time{}
}
