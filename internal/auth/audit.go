package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Audit actions written by this package. Other packages add their own
// ("device.update", "ptz.move", "case.transition", …).
const (
	ActionLogin          = "login"
	ActionLoginFailed    = "login.failed"
	ActionLogout         = "logout"
	ActionUserCreate     = "user.create"
	ActionUserUpdate     = "user.update"
	ActionUserDelete     = "user.delete"
	ActionPasswordChange = "password.change"
	ActionAPIKeyCreate   = "apikey.create"
	ActionAPIKeyRevoke   = "apikey.revoke"
)

// MaxAuditRead bounds one AuditLog page.
const MaxAuditRead = 1000

// Entry is one line of the append-only audit log (DESIGN decision 13).
type Entry struct {
	// Offset is the entry's position in the log; set when read.
	Offset uint64    `json:"offset,omitempty"`
	Time   time.Time `json:"time"`
	// Actor is the username (or "apikey:…", "guest:…", "system").
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Target string `json:"target,omitempty"`
	// Region is the region of the target, so scoped admins see only
	// entries about their region.
	Region string `json:"region,omitempty"`
	// Source is the caller's network address.
	Source string `json:"source,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Audit appends e to the audit log. A zero Time is set to now; an empty
// Source is taken from ctx (WithSource).
func (s *Service) Audit(ctx context.Context, e Entry) error {
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	if e.Source == "" {
		e.Source = sourceFrom(ctx)
	}
	e.Offset = 0
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("auth: encode audit entry: %w", err)
	}
	if _, err := s.st.Append(ctx, logAudit, b); err != nil {
		return fmt.Errorf("auth: append audit entry: %w", err)
	}
	return nil
}

// auditIn writes an entry about a target in region; a failure is logged,
// not returned, because the action it records has already happened.
func (s *Service) auditIn(ctx context.Context, region string, e Entry) {
	e.Region = region
	if err := s.Audit(ctx, e); err != nil {
		s.log.Error("audit entry lost", "action", e.Action, "actor", e.Actor, "target", e.Target, "err", err)
	}
}

// AuditLog returns up to limit entries (at most MaxAuditRead) with offsets
// greater than after, oldest first.
func (s *Service) AuditLog(ctx context.Context, after uint64, limit int) ([]Entry, error) {
	if limit <= 0 || limit > MaxAuditRead {
		limit = MaxAuditRead
	}
	les, err := s.st.ReadLog(ctx, logAudit, after+1, limit)
	if err != nil {
		return nil, fmt.Errorf("auth: read audit log: %w", err)
	}
	out := make([]Entry, 0, len(les))
	for _, le := range les {
		var e Entry
		if err := json.Unmarshal(le.Value, &e); err != nil {
			e = Entry{Action: "corrupt", Detail: err.Error()}
		}
		e.Offset = le.Offset
		out = append(out, e)
	}
	return out, nil
}
