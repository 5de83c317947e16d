package dispatch

import (
	"time"
)

// mutate applies the action to the case (already checked) and returns the
// event data describing it.
func (s *Service) mutate(c *Case, rule Rule, req TransitionRequest, now time.Time) map[string]any {
	data := map[string]any{}
	if rule.To != "" {
		c.State = rule.To
	}
	switch req.Action {
	case ActAccept:
		if c.AcceptedAt.IsZero() {
			c.AcceptedAt = now
		}
	case ActRoute:
		c.Departments = c.Departments[:0]
		for _, d := range req.Departments {
			c.Departments = append(c.Departments, Assignment{Department: d, State: DeptPending, RoutedAt: now})
		}
		data["departments"] = req.Departments
	case ActCheckin, ActStart, ActFinish, ActReject:
		s.moveDept(c, req, now, data)
	case ActHandle:
		c.HandledAt, c.ResolvedLevel = now, c.Level
	case ActFollowup:
		s.followup(c, req.Satisfaction, now, data)
	case ActClose, ActInvalidate:
		c.ClosedAt = now
	case ActReturn:
		c.Returns++
	case ActEscalate:
		c.EscalatedTo = parentRegion(c.responsibleRegion())
		c.Level = LevelOf(c.EscalatedTo)
		data["escalated_to"] = c.EscalatedTo
	case ActSuspend:
		c.Suspended, c.SuspendedAt = true, now
	case ActResume:
		s.resume(c, now, data)
	case ActExtend:
		data["old_deadline"] = c.Deadline
		c.Deadline = req.Deadline.UTC()
		data["deadline"] = c.Deadline
	case ActMerge:
		c.MergedInto = req.Target
		data["target"] = req.Target
	}
	if req.Reason != "" {
		data["reason"] = req.Reason
	}
	return data
}

// moveDept changes a routed department's sub-state.
func (s *Service) moveDept(c *Case, req TransitionRequest, now time.Time, data map[string]any) {
	a := c.assignment(req.Department)
	switch req.Action {
	case ActCheckin:
		a.State, a.CheckedIn = DeptCheckedIn, now
	case ActStart:
		a.State, a.Started = DeptHandling, now
	case ActFinish:
		a.State, a.Finished = DeptDone, now
	case ActReject:
		a.State, a.Reason, a.Rejected = DeptRejected, req.Reason, now
		if n := c.countDepts(); n[DeptRejected] == len(c.Departments) {
			c.State = StateAccepted // nobody takes it: the center routes again
			data["all_rejected"] = true
		}
	}
	data["department"] = req.Department
	data["department_state"] = a.State
}

// followup records satisfaction; 1–2 reopens the case to routed with every
// department that did not reject back to pending.
func (s *Service) followup(c *Case, sat int, now time.Time, data map[string]any) {
	c.Satisfaction = sat
	data["satisfaction"] = sat
	if sat > 2 {
		return
	}
	c.State = StateRouted
	c.HandledAt, c.ResolvedLevel = time.Time{}, ""
	for i := range c.Departments {
		a := &c.Departments[i]
		if a.State != DeptRejected {
			*a = Assignment{Department: a.Department, State: DeptPending, RoutedAt: now}
		}
	}
	data["reopened"] = true
}

// resume ends a suspension: the stage's start and deadline move by the
// paused time, so a suspended case does not age.
func (s *Service) resume(c *Case, now time.Time, data map[string]any) {
	paused := now.Sub(c.SuspendedAt)
	if paused < 0 {
		paused = 0
	}
	c.Suspended, c.SuspendedAt = false, time.Time{}
	c.Paused += paused
	if !c.Deadline.IsZero() {
		c.Deadline = c.Deadline.Add(paused)
		c.StageStarted = c.StageStarted.Add(paused)
	}
	data["paused"] = paused.String()
}
