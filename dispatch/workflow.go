package dispatch

import (
	"slices"

	"pingan/internal/auth"
)

// State is a case's workflow state.
type State string

// States. closed, merged and invalidated are terminal.
const (
	StateRegistered  State = "registered"  // 登记
	StateAccepted    State = "accepted"    // 受理
	StateRouted      State = "routed"      // 流转
	StateHandling    State = "handling"    // 办理 (a department started)
	StateHandled     State = "handled"     // 办结
	StateReported    State = "reported"    // 反馈
	StateFollowedUp  State = "followed_up" // 回访
	StateClosed      State = "closed"      // 结案
	StateReturned    State = "returned"    // 退回
	StateMerged      State = "merged"      // 并案
	StateInvalidated State = "invalidated" // 不予受理
)

// States lists every state.
var States = []State{StateRegistered, StateAccepted, StateRouted, StateHandling, StateHandled,
	StateReported, StateFollowedUp, StateClosed, StateReturned, StateMerged, StateInvalidated}

// Terminal reports whether no action leaves the state.
func (s State) Terminal() bool {
	return s == StateClosed || s == StateMerged || s == StateInvalidated
}

// Action is a workflow action.
type Action string

// Actions.
const (
	ActAccept     Action = "accept"
	ActRoute      Action = "route"
	ActCheckin    Action = "checkin"
	ActStart      Action = "start"
	ActFinish     Action = "finish"
	ActReject     Action = "reject"
	ActHandle     Action = "handle"
	ActReport     Action = "report"
	ActFollowup   Action = "followup"
	ActClose      Action = "close"
	ActReturn     Action = "return"
	ActEscalate   Action = "escalate"
	ActSuspend    Action = "suspend"
	ActResume     Action = "resume"
	ActExtend     Action = "extend"
	ActMerge      Action = "merge"
	ActInvalidate Action = "invalidate"
)

// Required request fields named in the table.
const (
	fieldReason       = "reason"
	fieldDepartments  = "departments"
	fieldDepartment   = "department"
	fieldSatisfaction = "satisfaction"
	fieldDeadline     = "deadline"
	fieldTarget       = "target"
)

// Rule is one row of the workflow table.
type Rule struct {
	Action Action
	From   []State
	// To is the resulting state; "" keeps the state (side moves, department
	// sub-state actions). followup goes to routed instead when dissatisfied;
	// start moves routed to handling.
	To       State
	Roles    []auth.Role
	Required []string
}

var (
	center     = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader}
	handlers   = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader, auth.RoleMediator}
	approvers  = []auth.Role{auth.RoleAdmin, auth.RoleLeader}
	reporters  = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader, auth.RoleIntegration}
	followers  = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader, auth.RoleGrid, auth.RoleIntegration}
	openStates = []State{StateRegistered, StateAccepted, StateRouted, StateHandling, StateHandled,
		StateReported, StateFollowedUp, StateReturned}
	inWork   = []State{StateRouted, StateHandling}
	unrouted = []State{StateRegistered, StateAccepted, StateReturned}
)

// Workflow is the transition table: action → from-states → to-state → roles → required fields.
var Workflow = []Rule{
	{ActAccept, []State{StateRegistered, StateReturned}, StateAccepted, center, nil},
	{ActRoute, []State{StateAccepted, StateReturned}, StateRouted, center, []string{fieldDepartments}},
	{ActCheckin, inWork, "", handlers, []string{fieldDepartment}},
	{ActStart, inWork, StateHandling, handlers, []string{fieldDepartment}},
	{ActFinish, []State{StateHandling}, "", handlers, []string{fieldDepartment}},
	{ActReject, inWork, "", handlers, []string{fieldDepartment, fieldReason}},
	{ActHandle, []State{StateHandling}, StateHandled, handlers, nil},
	{ActReport, []State{StateHandled}, StateReported, reporters, nil},
	{ActFollowup, []State{StateReported}, StateFollowedUp, followers, []string{fieldSatisfaction}},
	{ActClose, []State{StateFollowedUp}, StateClosed, center, nil},
	{ActReturn, []State{StateAccepted, StateRouted, StateHandling, StateHandled, StateReported},
		StateReturned, handlers, []string{fieldReason}},
	{ActEscalate, []State{StateRegistered, StateAccepted, StateRouted, StateHandling, StateReturned}, "", center, nil},
	{ActSuspend, openStates, "", approvers, []string{fieldReason}},
	{ActResume, openStates, "", approvers, nil},
	{ActExtend, openStates, "", approvers, []string{fieldDeadline}},
	{ActMerge, unrouted, StateMerged, center, []string{fieldTarget}},
	{ActInvalidate, unrouted, StateInvalidated, center, []string{fieldReason}},
}

// whileSuspended are the only actions a suspended case accepts.
var whileSuspended = []Action{ActResume, ActMerge, ActInvalidate}

// deptMoves is the department sub-state table: action → from sub-states.
var deptMoves = map[Action][]DeptState{
	ActCheckin: {DeptPending},
	ActStart:   {DeptCheckedIn},
	ActFinish:  {DeptHandling},
	ActReject:  {DeptPending, DeptCheckedIn},
}

func ruleFor(a Action) (Rule, bool) {
	for _, r := range Workflow {
		if r.Action == a {
			return r, true
		}
	}
	return Rule{}, false
}

// AllowedActions lists the actions the case's state accepts, in table order
// (roles not considered). Suspension allows only resume, merge, invalidate.
func AllowedActions(c *Case) []string {
	var out []string
	for _, r := range Workflow {
		if !slices.Contains(r.From, c.State) {
			continue
		}
		if c.Suspended && !slices.Contains(whileSuspended, r.Action) {
			continue
		}
		if !c.Suspended && r.Action == ActResume {
			continue
		}
		if r.Action == ActHandle && !allDone(c) {
			continue
		}
		out = append(out, string(r.Action))
	}
	return out
}

// allDone reports whether every routed department that did not reject is
// done, and at least one is: then the case can be handled. Rejected
// departments are ignored; when all reject, the case goes back to accepted.
func allDone(c *Case) bool {
	n := c.countDepts()
	return n[DeptDone] > 0 && n[DeptDone]+n[DeptRejected] == len(c.Departments)
}

// deptAllowed lists the department actions the sub-state accepts.
func deptAllowed(s DeptState) []string {
	var out []string
	for _, a := range []Action{ActCheckin, ActStart, ActFinish, ActReject} {
		if slices.Contains(deptMoves[a], s) {
			out = append(out, string(a))
		}
	}
	return out
}

// roleAllowed reports whether p's role may perform the rule's action.
func roleAllowed(r Rule, p auth.Principal) bool { return p.Is(r.Roles...) }
