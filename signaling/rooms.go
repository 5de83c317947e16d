package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"pingan/internal/auth"
	"pingan/media"
	"pingan/media/room"
)

// roomHostRoles may create rooms and are hosts in any room they join.
var roomHostRoles = []auth.Role{auth.RoleLeader, auth.RoleMediator, auth.RoleTrainer, auth.RoleAdmin, auth.RoleOperator}

// Invite TTL bounds.
const (
	defaultInviteTTL = 2 * time.Hour
	maxInviteTTL     = 24 * time.Hour
	minInviteTTL     = time.Minute
)

// roomFinder is what WebSocket rooms and WHIP need from *room.Manager.
type roomFinder interface {
	Get(id room.ID) (*room.Room, bool)
}

// roomManager is what the rooms API needs from *room.Manager.
type roomManager interface {
	Create(o room.CreateOptions) (*room.Room, error)
	Get(id room.ID) (*room.Room, bool)
	List() []room.Info
	ListEnded(limit int) ([]room.Info, error)
}

// JoinTokens issues room join tokens (*auth.Service).
type JoinTokens interface {
	IssueJoinToken(room, name string, role auth.Role, ttl time.Duration) string
}

// RoomsAPI serves /api/v1/rooms: meetings and classes, invites with
// room-scoped join tokens, cameras in rooms and attendance.
type RoomsAPI struct {
	Rooms  roomManager
	Tokens JoinTokens
	// Access decides which streams a host may add as a camera.
	Access StreamAccess
	// Location formats attendance times (default UTC).
	Location *time.Location
	// JoinPage, when set, is the page invite links point to (with ?room=
	// and &token=); by default they open the console's /meeting/{id} or
	// /class/{id} page with ?token=.
	JoinPage string
	Logger   *slog.Logger
}

// Routes registers the rooms endpoints.
func (a *RoomsAPI) Routes(rt *Router) {
	rt.Handle("POST /api/v1/rooms", a.create, roomHostRoles...)
	rt.AllowGuest("GET /api/v1/rooms", a.list)
	rt.AllowGuest("GET /api/v1/rooms/{id}", a.get)
	rt.Handle("DELETE /api/v1/rooms/{id}", a.delete)
	rt.Handle("POST /api/v1/rooms/{id}/invites", a.invite)
	rt.Handle("POST /api/v1/rooms/{id}/cameras", a.addCamera)
	rt.Handle("GET /api/v1/rooms/{id}/attendance.csv", a.attendance)
}

func (a *RoomsAPI) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

type createRoomReq struct {
	Kind     room.Kind     `json:"kind"`
	Name     string        `json:"name"`
	Case     string        `json:"case,omitempty"`
	Settings room.Settings `json:"settings"`
}

func (a *RoomsAPI) create(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	var req createRoomReq
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	rm, err := a.Rooms.Create(room.CreateOptions{Kind: req.Kind, Name: req.Name, Case: req.Case, Host: p.Username,
		Region: p.Region, Settings: req.Settings})
	if err != nil {
		WriteError(w, r, RoomError(err))
		return
	}
	a.log().Info("room created", "room", rm.ID(), "kind", req.Kind, "by", p.Username)
	w.Header().Set("Location", "/api/v1/rooms/"+string(rm.ID()))
	WriteJSON(w, http.StatusCreated, rm.Info())
}

// maxEndedListed bounds the ended rooms GET /api/v1/rooms?state= lists.
const maxEndedListed = 200

// list answers the open rooms, newest first; ?state=ended the ended ones
// (last ended first, up to ?limit=, default and at most 200), ?state=all
// both.
func (a *RoomsAPI) list(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	q := r.URL.Query()
	state := q.Get("state")
	if state != "" && state != "open" && state != "ended" && state != "all" {
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "state must be open, ended or all"))
		return
	}
	limit := maxEndedListed
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEndedListed {
			WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "limit must be 1–%d", maxEndedListed))
			return
		}
		limit = n
	}
	var all []room.Info
	if state != "ended" {
		all = a.Rooms.List()
	}
	if state == "ended" || state == "all" {
		ended, err := a.Rooms.ListEnded(limit)
		if err != nil {
			WriteError(w, r, RoomError(err))
			return
		}
		all = append(all, ended...)
	}
	out := []room.Info{}
	for _, in := range all {
		if p.Room == "" || string(in.ID) == p.Room {
			out = append(out, in)
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"rooms": out})
}

// find returns the room named in the path if the caller may see it (a
// guest only its own); others get 404.
func (a *RoomsAPI) find(r *http.Request) (*room.Room, auth.Principal, error) {
	p, _ := PrincipalFrom(r.Context())
	id := r.PathValue("id")
	rm, ok := a.Rooms.Get(room.ID(id))
	if !ok || (p.Room != "" && p.Room != id) {
		return nil, p, Errorf(http.StatusNotFound, "not_found", "no room %q", id)
	}
	return rm, p, nil
}

// manageable finds a room the caller may manage: its creator, an admin,
// or a member who is a host in it.
func (a *RoomsAPI) manageable(r *http.Request) (*room.Room, auth.Principal, error) {
	rm, p, err := a.find(r)
	if err != nil {
		return nil, p, err
	}
	if !canManage(p, rm) {
		return nil, p, Errorf(http.StatusForbidden, "forbidden", "only the room's hosts may do this")
	}
	return rm, p, nil
}

func canManage(p auth.Principal, rm *room.Room) bool {
	if p.Room != "" {
		return false
	}
	if p.Username == rm.Host() || p.Is(auth.RoleAdmin) {
		return true
	}
	for _, pi := range rm.Info().Participants {
		if pi.User == p.Username && pi.Role == room.RoleHost {
			return true
		}
	}
	return false
}

func (a *RoomsAPI) get(w http.ResponseWriter, r *http.Request) {
	rm, _, err := a.find(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, rm.Info())
}

func (a *RoomsAPI) delete(w http.ResponseWriter, r *http.Request) {
	rm, p, err := a.manageable(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	rm.End("ended by " + p.Username)
	w.WriteHeader(http.StatusNoContent)
}

type inviteReq struct {
	Name string          `json:"name"`
	Role room.Role       `json:"role,omitempty"`
	TTL  json.RawMessage `json:"ttl,omitempty"` // seconds, or a duration like "30m"
}

// invite issues a short-lived join token scoped to the room.
func (a *RoomsAPI) invite(w http.ResponseWriter, r *http.Request) {
	rm, p, err := a.manageable(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if rm.Ended() {
		WriteError(w, r, RoomError(room.ErrEnded))
		return
	}
	var req inviteReq
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > 100 {
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "name must be 1–100 bytes"))
		return
	}
	role, ok := guestRoles[req.Role]
	if !ok {
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "role must be participant or viewer"))
		return
	}
	ttl, err := parseTTL(req.TTL)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	tok := a.Tokens.IssueJoinToken(string(rm.ID()), req.Name, role, ttl)
	// The console's meeting and class pages join with ?token=.
	link := "/" + string(rm.Kind()) + "/" + url.PathEscape(string(rm.ID())) + "?token=" + url.QueryEscape(tok)
	if a.JoinPage != "" {
		link = a.JoinPage + "?room=" + url.QueryEscape(string(rm.ID())) + "&token=" + url.QueryEscape(tok)
	}
	a.log().Info("room invite issued", "room", rm.ID(), "by", p.Username, "guest", req.Name, "ttl", ttl)
	WriteJSON(w, http.StatusCreated, map[string]any{
		"token": tok, "url": link, "room": rm.ID(), "role": req.Role,
		"expires": time.Now().Add(ttl).UTC(),
	})
}

// guestRoles maps an invite's room role to the auth role its token carries.
var guestRoles = map[room.Role]auth.Role{
	"":                   auth.RoleGrid,
	room.RoleParticipant: auth.RoleGrid,
	room.RoleViewer:      auth.RoleTrainee,
}

func parseTTL(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return defaultInviteTTL, nil
	}
	var d time.Duration
	var secs float64
	var text string
	switch {
	case json.Unmarshal(raw, &secs) == nil:
		d = time.Duration(secs * float64(time.Second))
	case json.Unmarshal(raw, &text) == nil:
		var err error
		if d, err = time.ParseDuration(text); err != nil {
			if n, nerr := strconv.Atoi(text); nerr == nil {
				d = time.Duration(n) * time.Second
			} else {
				return 0, Errorf(http.StatusBadRequest, "invalid", "ttl %q: %v", text, err)
			}
		}
	default:
		return 0, Errorf(http.StatusBadRequest, "invalid", "ttl must be seconds or a duration")
	}
	if d < minInviteTTL || d > maxInviteTTL {
		return 0, Errorf(http.StatusBadRequest, "invalid", "ttl must be between %s and %s", minInviteTTL, maxInviteTTL)
	}
	return d, nil
}

type addCameraReq struct {
	Stream media.StreamID `json:"stream"`
	Name   string         `json:"name,omitempty"`
}

func (a *RoomsAPI) addCamera(w http.ResponseWriter, r *http.Request) {
	rm, p, err := a.manageable(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	var req addCameraReq
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	cam, err := addCamera(a.Access, p, rm, req.Stream, req.Name)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, cam.Info())
}

// addCamera checks that p may read stream and adds it to rm.
func addCamera(access StreamAccess, p auth.Principal, rm *room.Room, stream media.StreamID, name string) (*room.Participant, error) {
	if stream == "" || strings.HasPrefix(string(stream), "room/") {
		return nil, Errorf(http.StatusBadRequest, "invalid", "stream must be a camera or pushed stream, not %q", stream)
	}
	if access == nil || !access.CanRead(p, stream) {
		return nil, Errorf(http.StatusForbidden, "forbidden", "stream %q is outside your scope", stream)
	}
	cam, err := rm.AddCamera(stream, name)
	if err != nil {
		return nil, RoomError(err)
	}
	return cam, nil
}

func (a *RoomsAPI) attendance(w http.ResponseWriter, r *http.Request) {
	rm, _, err := a.manageable(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="room-%s-attendance.csv"`, rm.ID()))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(rm.AttendanceCSV(a.Location))
}

// StreamAccess wraps base so room streams (room/{id}/…) are readable only
// by the room's members, its hosts, and operators/leaders/mediators/admins
// (base still applies: a guest reads only its own room).
func (a *RoomsAPI) StreamAccess(base StreamAccess) StreamAccess {
	return StreamAccessFunc(func(p auth.Principal, id media.StreamID) bool {
		if base == nil || !base.CanRead(p, id) {
			return false
		}
		rid, ok := room.StreamRoom(id)
		if !ok {
			return true
		}
		rm, ok := a.Rooms.Get(rid)
		if !ok {
			return false
		}
		if p.Room != "" {
			return p.Room == string(rid)
		}
		return p.Is(auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader, auth.RoleMediator) ||
			p.Username == rm.Host() || rm.HasMember(p.Username)
	})
}

// RoomError maps room errors to API errors.
func RoomError(err error) error {
	switch {
	case errors.Is(err, room.ErrNotFound):
		return Errorf(http.StatusNotFound, "not_found", "%v", err)
	case errors.Is(err, room.ErrEnded):
		return Errorf(http.StatusGone, "ended", "%v", err)
	case errors.Is(err, room.ErrFull):
		return Errorf(http.StatusConflict, "full", "%v", err)
	case errors.Is(err, room.ErrForbidden):
		return Errorf(http.StatusForbidden, "forbidden", "%v", err)
	case errors.Is(err, room.ErrRemoved):
		return Errorf(http.StatusForbidden, "removed", "%v", err)
	case errors.Is(err, room.ErrInvalid):
		return Errorf(http.StatusBadRequest, "invalid", "%v", err)
	case errors.Is(err, room.ErrUnavailable):
		return Errorf(http.StatusServiceUnavailable, "unavailable", "%v", err)
	}
	return sessionError(err)
}

// roomRole is the role a principal gets when joining rm: hosts by role or
// as the room's creator; guests and others are participants in meetings
// and viewers in classes (a trainee token is a viewer anywhere).
func roomRole(p auth.Principal, rm *room.Room) room.Role {
	if p.Room == "" && (p.Username == rm.Host() || p.Is(roomHostRoles...)) {
		return room.RoleHost
	}
	if rm.Kind() == room.KindClass || p.Is(auth.RoleTrainee) {
		return room.RoleViewer
	}
	return room.RoleParticipant
}

// roomUser is the identity a principal keeps across reconnects: a
// username, or for a guest its join token (one invite, one seat).
func roomUser(p auth.Principal) string {
	if p.Room != "" {
		id, _, _ := strings.Cut(p.TokenID, ".")
		return p.Username + "#" + id
	}
	return p.Username
}
