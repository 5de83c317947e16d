package signaling

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"pingan/internal/auth"
)

// usersService is what UsersAPI needs from internal/auth (*auth.Service).
type usersService interface {
	Login(ctx context.Context, username, password, source string) (string, time.Time, error)
	Logout(ctx context.Context, p auth.Principal) error
	ChangePassword(ctx context.Context, p auth.Principal, old, new string) error
	GetUser(ctx context.Context, name string) (auth.User, error)
	ListUsers(ctx context.Context, scope string) ([]auth.User, error)
	CreateUser(ctx context.Context, by auth.Principal, u auth.NewUser) (auth.User, error)
	UpdateUser(ctx context.Context, by auth.Principal, name string, u auth.UserUpdate) (auth.User, error)
	DeleteUser(ctx context.Context, by auth.Principal, name string) error
	CreateAPIKey(ctx context.Context, by auth.Principal, name string, role auth.Role, region string) (auth.APIKey, string, error)
	ListAPIKeys(ctx context.Context, scope string) ([]auth.APIKey, error)
	RevokeAPIKey(ctx context.Context, by auth.Principal, id string) error
	AuditLog(ctx context.Context, after uint64, limit int) ([]auth.Entry, error)
}

// UsersAPI serves login, the caller's own account, user and API key
// management, and the audit log.
type UsersAPI struct {
	svc usersService
	// TrustProxy takes the client address from the last X-Forwarded-For
	// entry instead of the connection. Set it only behind a reverse proxy
	// that appends that header; otherwise a client could pick the address
	// its failed logins are counted against.
	TrustProxy bool
}

// NewUsersAPI builds the users API on the auth service.
func NewUsersAPI(svc usersService) *UsersAPI { return &UsersAPI{svc: svc} }

// Default and largest page of GET /api/v1/audit.
const (
	auditDefaultLimit = 100
	auditMaxLimit     = 1000
)

// Routes registers the endpoints.
func (a *UsersAPI) Routes(rt *Router) {
	admin := auth.RoleAdmin
	rt.Public("POST /api/v1/auth/login", a.login)
	rt.AllowGuest("POST /api/v1/auth/logout", a.logout)
	rt.AllowGuest("GET /api/v1/me", a.me)
	rt.Handle("POST /api/v1/me/password", a.changePassword)
	rt.Handle("GET /api/v1/users", a.listUsers, admin)
	rt.Handle("POST /api/v1/users", a.createUser, admin)
	rt.Handle("GET /api/v1/users/{name}", a.getUser)
	rt.Handle("PATCH /api/v1/users/{name}", a.updateUser, admin)
	rt.Handle("DELETE /api/v1/users/{name}", a.deleteUser, admin)
	rt.Handle("GET /api/v1/apikeys", a.listAPIKeys, admin)
	rt.Handle("POST /api/v1/apikeys", a.createAPIKey, admin)
	rt.Handle("DELETE /api/v1/apikeys/{id}", a.revokeAPIKey, admin)
	rt.Handle("GET /api/v1/audit", a.auditLog, admin)
}

// clientAddr is the caller's address for throttling and the audit log.
func (a *UsersAPI) clientAddr(r *http.Request) string {
	if a.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if ip := strings.TrimSpace(parts[len(parts)-1]); net.ParseIP(ip) != nil {
				return ip
			}
		}
	}
	return r.RemoteAddr
}

// ctx returns the request context carrying the client address for auditing.
func (a *UsersAPI) ctx(r *http.Request) context.Context {
	return auth.WithSource(r.Context(), a.clientAddr(r))
}

// usersError maps auth errors to API errors.
func usersError(err error) error {
	msg := func(prefix error) string {
		return strings.TrimPrefix(strings.TrimPrefix(err.Error(), prefix.Error()), ": ")
	}
	switch {
	case errors.Is(err, auth.ErrInvalid):
		return Errorf(http.StatusUnprocessableEntity, "invalid", "%s", msg(auth.ErrInvalid))
	case errors.Is(err, auth.ErrUserExists):
		return Errorf(http.StatusConflict, "exists", "a user with that name exists")
	case errors.Is(err, auth.ErrNoUser):
		return Errorf(http.StatusNotFound, "not_found", "no such user")
	case errors.Is(err, auth.ErrNoAPIKey):
		return Errorf(http.StatusNotFound, "not_found", "no such API key")
	case errors.Is(err, auth.ErrForbidden):
		return Errorf(http.StatusForbidden, "forbidden", "%s", msg(auth.ErrForbidden))
	}
	return StoreError(AuthError(err))
}

// writeUsersError writes err, with Retry-After when throttled.
func writeUsersError(w http.ResponseWriter, r *http.Request, err error) {
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(int(te.RetryAfter.Seconds())+1))
	}
	WriteError(w, r, usersError(err))
}

// caller returns the authenticated principal (the router guarantees one).
func caller(r *http.Request) auth.Principal {
	p, _ := PrincipalFrom(r.Context())
	return p
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      auth.User `json:"user"`
}

func (a *UsersAPI) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	if req.Username == "" || req.Password == "" {
		WriteError(w, r, Errorf(http.StatusBadRequest, "malformed", "username and password are required"))
		return
	}
	tok, exp, err := a.svc.Login(r.Context(), req.Username, req.Password, a.clientAddr(r))
	if errors.Is(err, auth.ErrBadCredentials) {
		WriteError(w, r, Errorf(http.StatusUnauthorized, "bad_credentials", "bad username or password"))
		return
	}
	if err != nil {
		writeUsersError(w, r, err)
		return
	}
	u, err := a.svc.GetUser(r.Context(), req.Username)
	if err != nil {
		writeUsersError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, loginResponse{Token: tok, ExpiresAt: exp, User: u})
}

func (a *UsersAPI) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Logout(a.ctx(r), caller(r)); err != nil {
		writeUsersError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// meResponse describes the caller; User is set for user accounts.
type meResponse struct {
	Username string     `json:"username"`
	Role     auth.Role  `json:"role"`
	Region   string     `json:"region"`
	Room     string     `json:"room,omitempty"`
	Kind     string     `json:"kind"` // user, apikey or guest
	User     *auth.User `json:"user,omitempty"`
}

func (a *UsersAPI) me(w http.ResponseWriter, r *http.Request) {
	p := caller(r)
	res := meResponse{Username: p.Username, Role: p.Role, Region: p.Region, Room: p.Room}
	switch {
	case p.Room != "":
		res.Kind = "guest"
	case strings.HasPrefix(p.Username, "apikey:"):
		res.Kind = "apikey"
	default:
		res.Kind = "user"
		u, err := a.svc.GetUser(r.Context(), p.Username)
		if err != nil {
			writeUsersError(w, r, err)
			return
		}
		res.User = &u
	}
	WriteJSON(w, http.StatusOK, res)
}

type passwordRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// changePassword answers 204; every token of the caller, the one used here
// included, stops working, so the console logs in again.
func (a *UsersAPI) changePassword(w http.ResponseWriter, r *http.Request) {
	var req passwordRequest
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	err := a.svc.ChangePassword(a.ctx(r), caller(r), req.OldPassword, req.NewPassword)
	if errors.Is(err, auth.ErrBadCredentials) {
		WriteError(w, r, Errorf(http.StatusForbidden, "bad_credentials", "the old password is wrong"))
		return
	}
	if err != nil {
		writeUsersError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *UsersAPI) listUsers(w http.ResponseWriter, r *http.Request) {
	users, err := a.svc.ListUsers(r.Context(), caller(r).Region)
	if err != nil {
		writeUsersError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string][]auth.User{"users": users})
}

func (a *UsersAPI) createUser(w http.ResponseWriter, r *http.Request) {
	var req auth.NewUser
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	u, err := a.svc.CreateUser(a.ctx(r), caller(r), req)
	if err != nil {
		writeUsersError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+u.Username)
	WriteJSON(w, http.StatusCreated, u)
}

// getUser shows a user to themselves, or to an admin whose scope covers them.
func (a *UsersAPI) getUser(w http.ResponseWriter, r *http.Request) {
	p, name := caller(r), r.PathValue("name")
	if name != p.Username && !p.Is(auth.RoleAdmin) {
		WriteError(w, r, ErrForbidden)
		return
	}
	u, err := a.svc.GetUser(r.Context(), name)
	if err == nil && name != p.Username && !p.InScope(u.Region) {
		err = auth.ErrNoUser
	}
	if err != nil {
		writeUsersError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, u)
}

func (a *UsersAPI) updateUser(w http.ResponseWriter, r *http.Request) {
	var req auth.UserUpdate
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	u, err := a.svc.UpdateUser(a.ctx(r), caller(r), r.PathValue("name"), req)
	if err != nil {
		writeUsersError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, u)
}

func (a *UsersAPI) deleteUser(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteUser(a.ctx(r), caller(r), r.PathValue("name")); err != nil {
		writeUsersError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *UsersAPI) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := a.svc.ListAPIKeys(r.Context(), caller(r).Region)
	if err != nil {
		writeUsersError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string][]auth.APIKey{"api_keys": keys})
}

type apiKeyRequest struct {
	Name   string    `json:"name"`
	Role   auth.Role `json:"role"`
	Region string    `json:"region"`
}

// apiKeyCreated is the only response that carries the key itself.
type apiKeyCreated struct {
	auth.APIKey
	Key string `json:"key"`
}

func (a *UsersAPI) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var req apiKeyRequest
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	k, key, err := a.svc.CreateAPIKey(a.ctx(r), caller(r), req.Name, req.Role, req.Region)
	if err != nil {
		writeUsersError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, apiKeyCreated{APIKey: k, Key: key})
}

func (a *UsersAPI) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.RevokeAPIKey(a.ctx(r), caller(r), r.PathValue("id")); err != nil {
		writeUsersError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type auditPage struct {
	Entries []auth.Entry `json:"entries"`
	// Next is the offset to pass as after for the following page.
	Next uint64 `json:"next"`
}

// auditLog pages through the audit log; a scoped admin sees only entries
// about targets in their region.
func (a *UsersAPI) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after uint64
	if s := q.Get("after"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			WriteError(w, r, Errorf(http.StatusBadRequest, "malformed", "after must be an offset"))
			return
		}
		after = v
	}
	limit := auditDefaultLimit
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > auditMaxLimit {
			WriteError(w, r, Errorf(http.StatusBadRequest, "malformed", "limit must be 1-%d", auditMaxLimit))
			return
		}
		limit = v
	}
	entries, err := a.svc.AuditLog(r.Context(), after, limit)
	if err != nil {
		writeUsersError(w, r, err)
		return
	}
	p := caller(r)
	res := auditPage{Entries: make([]auth.Entry, 0, len(entries)), Next: after}
	for _, e := range entries {
		res.Next = e.Offset
		if p.InScope(e.Region) {
			res.Entries = append(res.Entries, e)
		}
	}
	WriteJSON(w, http.StatusOK, res)
}

// The auth service is both the router's Authenticator and the users API's backend.
var (
	_ Authenticator = (*auth.Service)(nil)
	_ usersService  = (*auth.Service)(nil)
)
