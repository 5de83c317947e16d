package dispatch

import (
	"regexp"
	"time"

	"pingan/configs"
)

// CaseID is a case code (一案一码): region code (6 or 9 digits) + YYYYMMDD in
// the center's zone + a 6-digit sequence per region per day.
type CaseID string

var reCaseID = regexp.MustCompile(`^([0-9]{6}|[0-9]{9})[0-9]{8}[0-9]{6}$`)

// Valid reports whether the code has the 一案一码 shape.
func (c CaseID) Valid() bool { return reCaseID.MatchString(string(c)) }

// Source is where a case came from.
type Source string

// Sources.
const (
	SourceGrid    Source = "grid"
	SourceHotline Source = "hotline"
	SourceWalkin  Source = "walkin"
	SourceCamera  Source = "camera"
	SourceOnline  Source = "online"
)

// Sources lists every source.
var Sources = []Source{SourceGrid, SourceHotline, SourceWalkin, SourceCamera, SourceOnline}

// Level is the administrative level of a region code (GB/T 2260 length).
type Level string

// Levels.
const (
	LevelProvince Level = "province" // 2 digits
	LevelCity     Level = "city"     // 4 digits
	LevelCounty   Level = "county"   // 6 digits
	LevelTownship Level = "township" // 9 digits
)

// LevelOf returns the level of a region code, or "" when its length is not 2, 4, 6 or 9.
func LevelOf(region string) Level {
	switch len(region) {
	case 2:
		return LevelProvince
	case 4:
		return LevelCity
	case 6:
		return LevelCounty
	case 9:
		return LevelTownship
	}
	return ""
}

// parentRegion is the next level up, or "" at province level.
func parentRegion(region string) string {
	switch len(region) {
	case 9:
		return region[:6]
	case 6:
		return region[:4]
	case 4:
		return region[:2]
	}
	return ""
}

// Colour is a deadline colour (红黄绿).
type Colour string

// Colours.
const (
	Green  Colour = "green"
	Yellow Colour = "yellow"
	Red    Colour = "red"
)

// Location is where a case or incident happens (WGS-84).
type Location struct {
	Address string  `json:"address"`
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
}

// Party is a person or organisation involved in a case.
type Party struct {
	Name    string `json:"name"`
	Role    string `json:"role,omitempty"`    // e.g. applicant, respondent
	Contact string `json:"contact,omitempty"` // stored masked when it is a phone number
}

// Evidence kinds.
const (
	EvidenceRecording = "recording"
	EvidenceSnapshot  = "snapshot"
	EvidenceStream    = "stream"
)

// Evidence references a recording id, a snapshot URL or a stream id.
type Evidence struct {
	Kind string    `json:"kind"`
	Ref  string    `json:"ref"`
	Note string    `json:"note,omitempty"`
	At   time.Time `json:"at,omitzero"`
}

// DeptState is a routed department's sub-state.
type DeptState string

// Department sub-states.
const (
	DeptPending   DeptState = "pending"
	DeptCheckedIn DeptState = "checked_in" // 报到
	DeptHandling  DeptState = "handling"
	DeptDone      DeptState = "done"
	DeptRejected  DeptState = "rejected"
)

// Assignment is one department routed to a case.
type Assignment struct {
	Department DepartmentID `json:"department"`
	State      DeptState    `json:"state"`
	Reason     string       `json:"reason,omitempty"` // rejection reason
	RoutedAt   time.Time    `json:"routed_at"`
	CheckedIn  time.Time    `json:"checked_in_at,omitzero"`
	Started    time.Time    `json:"started_at,omitzero"`
	Finished   time.Time    `json:"finished_at,omitzero"`
	Rejected   time.Time    `json:"rejected_at,omitzero"`
}

// TimelineEntry is one change in a case's history.
type TimelineEntry struct {
	At         time.Time    `json:"at"`
	Actor      string       `json:"actor"`
	Action     string       `json:"action"`
	From       State        `json:"from,omitempty"`
	To         State        `json:"to,omitempty"`
	Department DepartmentID `json:"department,omitempty"`
	Note       string       `json:"note,omitempty"`
}

// Reporter is the person who reported a case; the phone is stored masked.
type Reporter struct {
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Case is the durable record of a case, as the API returns it. Times are UTC.
type Case struct {
	Code        CaseID     `json:"code"`
	Type        string     `json:"type"`
	Source      Source     `json:"source"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Location    Location   `json:"location"`
	Parties     []Party    `json:"parties,omitempty"`
	Reporter    *Reporter  `json:"reporter,omitempty"`
	Region      string     `json:"region"`
	Level       Level      `json:"level"` // responsible level: the region's, raised by escalate
	EscalatedTo string     `json:"escalated_to,omitempty"`
	ExternalID  string     `json:"external_id,omitempty"`
	Urgency     string     `json:"urgency,omitempty"`
	Evidence    []Evidence `json:"evidence,omitempty"`

	Departments []Assignment    `json:"departments,omitempty"`
	Timeline    []TimelineEntry `json:"timeline"`
	State       State           `json:"state"`
	Version     uint64          `json:"version"`

	Colour       Colour        `json:"colour"`
	Stage        string        `json:"stage,omitempty"`
	StageStarted time.Time     `json:"stage_started,omitzero"`
	Deadline     time.Time     `json:"deadline,omitzero"`
	HandleLimit  time.Duration `json:"handle_limit,omitempty"` // overrides the type's handle limit (nanoseconds)
	Suspended    bool          `json:"suspended,omitempty"`
	SuspendedAt  time.Time     `json:"suspended_at,omitzero"`
	Paused       time.Duration `json:"paused,omitempty"` // total suspended time (nanoseconds)
	// Limits are the stage limits of the case's type when it was
	// registered: later edits of the type do not move this case's deadlines.
	Limits map[string]configs.Duration `json:"limits"`

	Satisfaction int    `json:"satisfaction,omitempty"`
	MergedInto   CaseID `json:"merged_into,omitempty"`
	Returns      int    `json:"returns,omitempty"`
	EverYellow   bool   `json:"ever_yellow,omitempty"`
	EverRed      bool   `json:"ever_red,omitempty"`
	// ResolvedLevel is the responsible level when the case was handled.
	ResolvedLevel Level     `json:"resolved_level,omitempty"`
	AcceptedAt    time.Time `json:"accepted_at,omitzero"`
	HandledAt     time.Time `json:"handled_at,omitzero"`
	ClosedAt      time.Time `json:"closed_at,omitzero"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated"`

	// Existing is set (never stored) when Create found the case by external_id.
	Existing bool `json:"existing,omitempty"`
}

// visibleTo reports whether the case lies in scope: its region, or the
// region it was escalated to.
func (c *Case) visibleTo(scope string) bool {
	if inScope(scope, c.Region) {
		return true
	}
	return c.EscalatedTo != "" && inScope(scope, c.EscalatedTo)
}

// responsibleRegion is the region currently responsible for the case.
func (c *Case) responsibleRegion() string {
	if c.EscalatedTo != "" {
		return c.EscalatedTo
	}
	return c.Region
}

// assignment returns the routed department d, or nil.
func (c *Case) assignment(d DepartmentID) *Assignment {
	for i := range c.Departments {
		if c.Departments[i].Department == d {
			return &c.Departments[i]
		}
	}
	return nil
}

// countDepts returns how many routed departments are in each sub-state.
func (c *Case) countDepts() map[DeptState]int {
	n := map[DeptState]int{}
	for _, a := range c.Departments {
		n[a.State]++
	}
	return n
}

// responsibleDepartments are the routed departments that still owe work.
func (c *Case) responsibleDepartments() []DepartmentID {
	var out []DepartmentID
	for _, a := range c.Departments {
		if a.State != DeptDone && a.State != DeptRejected {
			out = append(out, a.Department)
		}
	}
	return out
}
