package room

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"time"
)

// Attendance is one participant's stay in a room (a resumed participant
// keeps its record).
type Attendance struct {
	Participant ParticipantID `json:"participant"`
	Name        string        `json:"name"`
	User        string        `json:"user"`
	Role        Role          `json:"role"`
	Joined      time.Time     `json:"joined"`
	Left        time.Time     `json:"left,omitzero"`
}

// Attendance lists everyone who joined (cameras excluded), in join order.
func (r *Room) Attendance() []Attendance {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Attendance, len(r.attendance))
	for i, a := range r.attendance {
		out[i] = *a
	}
	return out
}

// AttendanceCSV renders the attendance as CSV (UTC times, RFC 3339;
// duration in seconds up to now for those still present), with a header.
func (r *Room) AttendanceCSV(loc *time.Location) []byte {
	if loc == nil {
		loc = time.UTC
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"participant", "name", "user", "role", "joined", "left", "duration_s"})
	now := time.Now()
	for _, a := range r.Attendance() {
		left, end := "", now
		if !a.Left.IsZero() {
			left, end = a.Left.In(loc).Format(time.RFC3339), a.Left
		}
		_ = w.Write([]string{string(a.Participant), csvSafe(a.Name), csvSafe(a.User), string(a.Role),
			a.Joined.In(loc).Format(time.RFC3339), left, strconv.Itoa(int(end.Sub(a.Joined).Seconds()))})
	}
	w.Flush()
	return b.Bytes()
}

// csvSafe defuses spreadsheet formulas in user-supplied names.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
