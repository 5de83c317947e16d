package dispatch

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"pingan/configs"
	"pingan/internal/auth"
	"pingan/internal/store"
)

// Duplicate radius and window for SuggestDuplicates.
const (
	dupRadius = 200 // meters
	dupWindow = 7 * 24 * time.Hour
	maxBody   = 1 << 20
)

// HotlineOrder is a 12345 work order (POST /api/v1/intake/hotline).
type HotlineOrder struct {
	Number      string   `json:"number"`  // work-order number: the idempotency key
	Channel     string   `json:"channel"` // phone, web, app, …
	CallerName  string   `json:"caller_name"`
	CallerPhone string   `json:"caller_phone"`
	Category    string   `json:"category"` // 咨询 求助 投诉 举报 建议
	Title       string   `json:"title"`
	Content     string   `json:"content"`
	Address     string   `json:"address"`
	Lat         float64  `json:"lat"`
	Lon         float64  `json:"lon"`
	Region      string   `json:"region"`     // "" = dispatch.hotline.region
	Urgency     string   `json:"urgency"`    // normal (default), urgent, emergency
	TimeLimit   string   `json:"time_limit"` // handle limit, e.g. "72h" or "3d"; "" = the type's
	Attachments []string `json:"attachments"`
}

// categoryTypes maps 12345 categories to case types (when configured).
var categoryTypes = map[string]string{
	"咨询": "consult", "建议": "consult", "求助": "dispute", "投诉": "petition", "举报": "hazard",
}

// IntakeResult is a case from intake plus open look-alike cases.
type IntakeResult struct {
	Case       *Case       `json:"case"`
	Duplicates []Duplicate `json:"duplicates"`
}

// Duplicate is an open case of the same type nearby and recent.
type Duplicate struct {
	Code     CaseID    `json:"code"`
	Title    string    `json:"title"`
	State    State     `json:"state"`
	Distance float64   `json:"distance"` // meters
	Created  time.Time `json:"created"`
}

// Hotline takes a signed 12345 work order: signature is hex HMAC-SHA256 of
// timestamp + "." + body with dispatch.hotline.secret (an optional
// "sha256=" prefix is accepted), timestamp is unix seconds within the replay
// window. The same work-order number always yields the same case.
func (s *Service) Hotline(ctx context.Context, body []byte, timestamp, signature string) (*IntakeResult, error) {
	if err := s.verifyHotline(body, timestamp, signature); err != nil {
		return nil, err
	}
	o, err := ParseHotlineOrder(body)
	if err != nil {
		return nil, err
	}
	nc, err := s.hotlineCase(ctx, o)
	if err != nil {
		return nil, err
	}
	p := auth.Principal{Username: "12345", Role: auth.RoleIntegration}
	return s.intake(ctx, p, nc)
}

func (s *Service) verifyHotline(body []byte, timestamp, signature string) error {
	secret := s.cfg.Hotline.Secret
	if secret == "" {
		return ErrIntakeDisabled
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not unix seconds", ErrUnauthorized)
	}
	if d := s.now().Sub(time.Unix(ts, 0)).Abs(); d > s.cfg.Hotline.ReplayWindow.D() {
		return fmt.Errorf("%w: timestamp outside the replay window", ErrUnauthorized)
	}
	got, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(signature), "sha256="))
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", ErrUnauthorized)
	}
	if !hmac.Equal(got, SignHotline([]byte(secret), timestamp, body)) {
		return fmt.Errorf("%w: signature mismatch", ErrUnauthorized)
	}
	return nil
}

// SignHotline computes the raw HMAC-SHA256 of timestamp + "." + body.
func SignHotline(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ParseHotlineOrder decodes a work order strictly: one JSON object, no
// unknown fields, required fields present. Errors are *ValidationError.
func ParseHotlineOrder(body []byte) (*HotlineOrder, error) {
	if len(body) > maxBody {
		return nil, invalid("body", "larger than %d bytes", maxBody)
	}
	o := new(HotlineOrder)
	if err := decodeStrict(body, o); err != nil {
		return nil, err
	}
	o.Number, o.Category = strings.TrimSpace(o.Number), strings.TrimSpace(o.Category)
	switch {
	case !reExtID.MatchString(o.Number):
		return nil, invalid("number", "required, 1 to %d printable ASCII characters", maxExtID)
	case strings.TrimSpace(o.Content) == "" && strings.TrimSpace(o.Title) == "":
		return nil, invalid("content", "title or content required")
	case o.Category != "" && categoryTypes[o.Category] == "":
		return nil, invalid("category", "want 咨询, 求助, 投诉, 举报 or 建议")
	case o.Urgency != "" && o.Urgency != "normal" && o.Urgency != "urgent" && o.Urgency != "emergency":
		return nil, invalid("urgency", "want normal, urgent or emergency")
	case len(o.Attachments) > maxEvidence:
		return nil, invalid("attachments", "at most %d", maxEvidence)
	}
	if o.TimeLimit != "" {
		if d, err := configs.ParseDuration(o.TimeLimit); err != nil || d <= 0 {
			return nil, invalid("time_limit", "want a duration such as 72h or 3d")
		}
	}
	return o, nil
}

// decodeStrict decodes exactly one JSON value with no unknown fields.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalid(te.Field, "want a JSON %s", te.Type)
		}
		return invalid("body", "bad JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("body", "trailing data after the JSON object")
	}
	return nil
}

// hotlineCase turns a work order into a NewCase.
// An order whose category maps to no active case type gets the first
// active type.
func (s *Service) hotlineCase(ctx context.Context, o *HotlineOrder) (NewCase, error) {
	typ := categoryTypes[o.Category]
	if ct, err := s.CaseType(ctx, typ); err != nil || !ct.Active {
		first, err := s.firstActive(ctx)
		if err != nil {
			return NewCase{}, err
		}
		typ = first.ID
	}
	region := o.Region
	if region == "" {
		region = s.cfg.Hotline.Region
	}
	nc := NewCase{Type: typ, Source: SourceHotline, Title: o.Title, Description: o.Content,
		Location: Location{Address: o.Address, Lat: o.Lat, Lon: o.Lon}, Region: region,
		ExternalID: o.Number, Urgency: o.Urgency,
		Reporter: &Reporter{Name: MaskName(o.CallerName), Phone: MaskPhone(o.CallerPhone)}}
	if strings.TrimSpace(nc.Title) == "" {
		nc.Title = truncateRunes(strings.TrimSpace(o.Content), 30)
	}
	if d, err := configs.ParseDuration(o.TimeLimit); err == nil && d > 0 { // checked by ParseHotlineOrder
		nc.HandleLimit = d.D()
	}
	for _, a := range o.Attachments {
		nc.Evidence = append(nc.Evidence, Evidence{Kind: EvidenceSnapshot, Ref: a, Note: "12345 attachment"})
	}
	return nc, nil
}

// GridReport is a grid worker's report (POST /api/v1/intake/grid).
type GridReport struct {
	Type        string   `json:"type"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Region      string   `json:"region"` // "" = the worker's own scope when it is a county or township
	Address     string   `json:"address"`
	Lat         float64  `json:"lat"`
	Lon         float64  `json:"lon"`
	Photos      []string `json:"photos"`    // snapshot references
	ClientID    string   `json:"client_id"` // optional idempotency key from the app
}

// Grid registers a grid worker's report.
func (s *Service) Grid(ctx context.Context, p auth.Principal, r GridReport) (*IntakeResult, error) {
	if r.Region == "" {
		r.Region = p.Region
	}
	nc := NewCase{Type: r.Type, Source: SourceGrid, Title: r.Title, Description: r.Description,
		Location: Location{Address: r.Address, Lat: r.Lat, Lon: r.Lon}, Region: r.Region,
		Reporter: &Reporter{Name: p.Username}}
	if r.ClientID != "" {
		nc.ExternalID = "grid-" + r.ClientID
	}
	for _, ph := range r.Photos {
		nc.Evidence = append(nc.Evidence, Evidence{Kind: EvidenceSnapshot, Ref: ph})
	}
	return s.intake(ctx, p, nc)
}

func (s *Service) intake(ctx context.Context, p auth.Principal, nc NewCase) (*IntakeResult, error) {
	c, err := s.Create(ctx, p, nc)
	if err != nil {
		return nil, err
	}
	dups, err := s.SuggestDuplicates(ctx, p, c)
	if err != nil {
		s.log.Warn("suggest duplicates", "case", c.Code, "err", err)
	}
	return &IntakeResult{Case: c, Duplicates: dups}, nil
}

// SuggestDuplicates lists open cases of the same type within 200 m created
// in the 7 days before c, nearest first (none when c has no coordinates).
func (s *Service) SuggestDuplicates(ctx context.Context, p auth.Principal, c *Case) ([]Duplicate, error) {
	out := []Duplicate{}
	if c.Location.Lat == 0 && c.Location.Lon == 0 {
		return out, nil
	}
	ents, err := s.st.IndexRange(ctx, idxOpen, store.Range{Min: ms(c.Created.Add(-dupWindow)), Max: ms(c.Created) + 1})
	if err != nil {
		return out, fmt.Errorf("dispatch: open cases: %w", err)
	}
	for _, e := range ents {
		if CaseID(e.Member) == c.Code {
			continue
		}
		o, err := s.loadCase(ctx, CaseID(e.Member))
		if err != nil || o.Type != c.Type || !o.visibleTo(p.Region) || (o.Location.Lat == 0 && o.Location.Lon == 0) {
			continue
		}
		if d := Haversine(c.Location.Lat, c.Location.Lon, o.Location.Lat, o.Location.Lon); d <= dupRadius {
			out = append(out, Duplicate{Code: o.Code, Title: o.Title, State: o.State, Distance: d, Created: o.Created})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Distance < out[j].Distance })
	return out, nil
}

// MaskPhone keeps the first 3 and last 4 digits: 13812341234 → 138****1234.
func MaskPhone(phone string) string {
	r := []rune(strings.TrimSpace(phone))
	switch {
	case len(r) == 0:
		return ""
	case len(r) >= 8:
		return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
	case len(r) > 2:
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	return strings.Repeat("*", len(r))
}

// MaskName keeps the first character: 张三丰 → 张**.
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	if len(r) == 0 {
		return ""
	}
	return string(r[:1]) + strings.Repeat("*", len(r)-1)
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
