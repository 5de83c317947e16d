package signaling_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"pingan/configs"
	"pingan/internal/auth"
	boltstore "pingan/internal/store/bolt"
	"pingan/signaling"
)

// usersEnv is the users API on a real auth service over a bbolt file.
type usersEnv struct {
	svc *auth.Service
	rt  *signaling.Router
	ctx context.Context
	tok map[string]string // bearer strings by fixture name
	key string            // API key id of the fixture key
}

const usersAdminPW = "admin-password"

func newUsersEnv(t testing.TB, maxFailures int) *usersEnv {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "pingan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := configs.AuthConfig{TokenTTL: configs.Duration(time.Hour), LoginMaxFailures: maxFailures,
		LoginWindow: configs.Duration(10 * time.Minute)}
	svc, err := auth.New(st, cfg, nil, auth.WithBcryptCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	if _, err := svc.EnsureAdmin(ctx, usersAdminPW); err != nil {
		t.Fatal(err)
	}
	rt := signaling.NewRouter(svc, 1<<16)
	signaling.NewUsersAPI(svc).Routes(rt)
	return &usersEnv{svc: svc, rt: rt, ctx: ctx, tok: map[string]string{}}
}

// fixture creates the users, tokens and key the endpoint table refers to.
func (e *usersEnv) fixture(t *testing.T) {
	t.Helper()
	root := auth.Principal{Username: "admin", Role: auth.RoleAdmin}
	for _, u := range []auth.NewUser{
		{Username: "ty-admin", Password: "password1", Role: auth.RoleAdmin, Region: "1401"},
		{Username: "op1", Password: "password1", Role: auth.RoleOperator, Region: "140105"},
		{Username: "dt-op", Password: "password1", Role: auth.RoleOperator, Region: "1402"},
		{Username: "victim", Password: "password1", Role: auth.RoleGrid, Region: "140105"},
		{Username: "pwuser", Password: "password1", Role: auth.RoleGrid, Region: "140105"},
	} {
		if _, err := e.svc.CreateUser(e.ctx, root, u); err != nil {
			t.Fatal(err)
		}
	}
	for name, pw := range map[string]string{"admin": usersAdminPW, "ty-admin": "password1", "op1": "password1", "pwuser": "password1"} {
		tok, _, err := e.svc.Login(e.ctx, name, pw, "192.0.2.200:1")
		if err != nil {
			t.Fatal(err)
		}
		e.tok[name] = tok
	}
	k, key, err := e.svc.CreateAPIKey(e.ctx, root, "hotline", auth.RoleIntegration, "1401")
	if err != nil {
		t.Fatal(err)
	}
	e.tok["apikey"], e.key = key, k.ID
	e.tok["guest"] = e.svc.IssueJoinToken("room-1", "Party A", auth.RoleTrainee, time.Hour)
}

// do sends one request through the router.
func (e *usersEnv) do(method, path, token, body string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.rt.ServeHTTP(w, req)
	return w
}

// checkError asserts the {"error":{"code","message"}} shape and the code.
func checkError(t testing.TB, w *httptest.ResponseRecorder, code string) {
	t.Helper()
	var body struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == nil || body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("error body %q (%v)", w.Body.String(), err)
	}
	if code != "" && body.Error.Code != code {
		t.Errorf("error code %q, want %q (%s)", body.Error.Code, code, body.Error.Message)
	}
}

// usersCases run in order against one fixture: later cases see earlier
// changes. who names a fixture token ("" = none, "bad" = garbage).
var usersCases = []struct {
	name, method, path, who, body string
	status                        int
	code                          string // error code, for statuses >= 400
}{
	{"me no token", "GET", "/api/v1/me", "", "", 401, "unauthorized"},
	{"me bad token", "GET", "/api/v1/me", "bad", "", 401, "unauthorized"},
	{"me user", "GET", "/api/v1/me", "op1", "", 200, ""},
	{"me api key", "GET", "/api/v1/me", "apikey", "", 200, ""},
	{"me guest", "GET", "/api/v1/me", "guest", "", 200, ""},

	{"list users operator", "GET", "/api/v1/users", "op1", "", 403, "forbidden"},
	{"list users guest", "GET", "/api/v1/users", "guest", "", 403, "forbidden"},
	{"list users admin", "GET", "/api/v1/users", "admin", "", 200, ""},
	{"create user operator", "POST", "/api/v1/users", "op1", `{"username":"n1","password":"password1","role":"grid","region":"140105"}`, 403, "forbidden"},
	{"create user malformed", "POST", "/api/v1/users", "admin", `{"username":`, 400, "malformed"},
	{"create user unknown field", "POST", "/api/v1/users", "admin", `{"username":"n1","pw":"x"}`, 400, "malformed"},
	{"create user bad role", "POST", "/api/v1/users", "admin", `{"username":"n1","password":"password1","role":"boss","region":"14"}`, 422, "invalid"},
	{"create user short password", "POST", "/api/v1/users", "admin", `{"username":"n1","password":"short","role":"grid","region":"14"}`, 422, "invalid"},
	{"create user bad region", "POST", "/api/v1/users", "admin", `{"username":"n1","password":"password1","role":"grid","region":"1x"}`, 422, "invalid"},
	{"create user", "POST", "/api/v1/users", "admin", `{"username":"n1","password":"password1","role":"grid","region":"140105"}`, 201, ""},
	{"create user exists", "POST", "/api/v1/users", "admin", `{"username":"n1","password":"password1","role":"grid","region":"140105"}`, 409, "exists"},
	{"scoped admin creates in scope", "POST", "/api/v1/users", "ty-admin", `{"username":"n2","password":"password1","role":"grid","region":"140105"}`, 201, ""},
	{"scoped admin creates outside", "POST", "/api/v1/users", "ty-admin", `{"username":"n3","password":"password1","role":"grid","region":"1402"}`, 403, "forbidden"},

	{"get self", "GET", "/api/v1/users/op1", "op1", "", 200, ""},
	{"get other as operator", "GET", "/api/v1/users/n1", "op1", "", 403, "forbidden"},
	{"get as admin", "GET", "/api/v1/users/n1", "admin", "", 200, ""},
	{"get missing", "GET", "/api/v1/users/nobody", "admin", "", 404, "not_found"},
	{"get outside scope", "GET", "/api/v1/users/dt-op", "ty-admin", "", 404, "not_found"},

	{"patch operator", "PATCH", "/api/v1/users/n1", "op1", `{"disabled":true}`, 403, "forbidden"},
	{"patch malformed", "PATCH", "/api/v1/users/n1", "admin", `{"disabled":"yes"}`, 400, "malformed"},
	{"patch bad role", "PATCH", "/api/v1/users/n1", "admin", `{"role":"boss"}`, 422, "invalid"},
	{"patch", "PATCH", "/api/v1/users/n1", "admin", `{"role":"operator","disabled":true}`, 200, ""},
	{"patch missing", "PATCH", "/api/v1/users/nobody", "admin", `{"disabled":true}`, 404, "not_found"},
	{"patch outside scope", "PATCH", "/api/v1/users/dt-op", "ty-admin", `{"disabled":true}`, 404, "not_found"},
	{"patch self disable", "PATCH", "/api/v1/users/admin", "admin", `{"disabled":true}`, 403, "forbidden"},
	{"patch self demote", "PATCH", "/api/v1/users/ty-admin", "ty-admin", `{"role":"operator"}`, 403, "forbidden"},

	{"delete operator", "DELETE", "/api/v1/users/n1", "op1", "", 403, "forbidden"},
	{"delete api key caller", "DELETE", "/api/v1/users/n1", "apikey", "", 403, "forbidden"},
	{"delete outside scope", "DELETE", "/api/v1/users/dt-op", "ty-admin", "", 404, "not_found"},
	{"delete self", "DELETE", "/api/v1/users/admin", "admin", "", 403, "forbidden"},
	{"delete", "DELETE", "/api/v1/users/n1", "admin", "", 204, ""},
	{"delete again", "DELETE", "/api/v1/users/n1", "admin", "", 404, "not_found"},

	{"password wrong old", "POST", "/api/v1/me/password", "pwuser", `{"old_password":"nope-nope","new_password":"password2"}`, 403, "bad_credentials"},
	{"password too short", "POST", "/api/v1/me/password", "pwuser", `{"old_password":"password1","new_password":"x"}`, 422, "invalid"},
	{"password malformed", "POST", "/api/v1/me/password", "pwuser", `[]`, 400, "malformed"},
	{"password guest", "POST", "/api/v1/me/password", "guest", `{"old_password":"a","new_password":"password2"}`, 403, "forbidden"},
	{"password api key", "POST", "/api/v1/me/password", "apikey", `{"old_password":"a","new_password":"password2"}`, 403, "forbidden"},
	{"password", "POST", "/api/v1/me/password", "pwuser", `{"old_password":"password1","new_password":"password2"}`, 204, ""},
	{"token after password change", "GET", "/api/v1/me", "pwuser", "", 401, "unauthorized"},

	{"list keys operator", "GET", "/api/v1/apikeys", "op1", "", 403, "forbidden"},
	{"list keys", "GET", "/api/v1/apikeys", "admin", "", 200, ""},
	{"create key operator", "POST", "/api/v1/apikeys", "op1", `{"name":"x","role":"integration","region":"14"}`, 403, "forbidden"},
	{"create key invalid", "POST", "/api/v1/apikeys", "admin", `{"name":"","role":"integration","region":"14"}`, 422, "invalid"},
	{"create key outside scope", "POST", "/api/v1/apikeys", "ty-admin", `{"name":"x","role":"integration","region":"1402"}`, 403, "forbidden"},
	{"create key", "POST", "/api/v1/apikeys", "admin", `{"name":"x","role":"integration","region":"14"}`, 201, ""},
	{"revoke key operator", "DELETE", "/api/v1/apikeys/{key}", "op1", "", 403, "forbidden"},
	{"revoke key missing", "DELETE", "/api/v1/apikeys/0123456789abcdef", "admin", "", 404, "not_found"},
	{"revoke key", "DELETE", "/api/v1/apikeys/{key}", "admin", "", 204, ""},
	{"revoked key", "GET", "/api/v1/me", "apikey", "", 401, "unauthorized"},

	{"audit operator", "GET", "/api/v1/audit", "op1", "", 403, "forbidden"},
	{"audit bad after", "GET", "/api/v1/audit?after=-1", "admin", "", 400, "malformed"},
	{"audit bad limit", "GET", "/api/v1/audit?limit=0", "admin", "", 400, "malformed"},
	{"audit", "GET", "/api/v1/audit?after=0&limit=1000", "admin", "", 200, ""},

	{"logout no token", "POST", "/api/v1/auth/logout", "", "", 401, "unauthorized"},
	{"logout", "POST", "/api/v1/auth/logout", "op1", "", 204, ""},
	{"after logout", "GET", "/api/v1/me", "op1", "", 401, "unauthorized"},
	{"guest logout", "POST", "/api/v1/auth/logout", "guest", "", 204, ""},
	{"guest after logout", "GET", "/api/v1/me", "guest", "", 401, "unauthorized"},
}

func TestUsersAPIEndpoints(t *testing.T) {
	e := newUsersEnv(t, 5)
	e.fixture(t)
	e.tok["bad"] = "pt1.garbage.token"
	for _, c := range usersCases {
		path := strings.ReplaceAll(c.path, "{key}", e.key)
		w := e.do(c.method, path, e.tok[c.who], c.body)
		if w.Code != c.status {
			t.Errorf("%s: %s %s = %d, want %d: %s", c.name, c.method, path, w.Code, c.status, w.Body)
			continue
		}
		if c.status >= 400 {
			checkError(t, w, c.code)
		}
		if strings.Contains(w.Body.String(), "password1") || strings.Contains(w.Body.String(), `"hash"`) {
			t.Errorf("%s: response leaks a password or hash: %s", c.name, w.Body)
		}
	}
}

func TestUsersAPIBodies(t *testing.T) {
	e := newUsersEnv(t, 5)
	e.fixture(t)
	var me struct {
		Username, Role, Region, Room, Kind string
		User                               *auth.User
	}
	decode(t, e.do("GET", "/api/v1/me", e.tok["op1"], ""), &me)
	if me.Kind != "user" || me.Role != "operator" || me.Region != "140105" || me.User == nil || me.User.Username != "op1" {
		t.Errorf("me %+v", me)
	}
	decode(t, e.do("GET", "/api/v1/me", e.tok["guest"], ""), &me)
	if me.Kind != "guest" || me.Room != "room-1" || me.Username != "guest:Party A" {
		t.Errorf("guest me %+v", me)
	}

	var list struct{ Users []auth.User }
	decode(t, e.do("GET", "/api/v1/users", e.tok["ty-admin"], ""), &list)
	var got []string
	for _, u := range list.Users {
		got = append(got, u.Username)
	}
	if strings.Join(got, ",") != "op1,pwuser,ty-admin,victim" {
		t.Errorf("scoped admin sees %v", got)
	}

	var created struct {
		ID, Name, Role, Region, Key string
	}
	decode(t, e.do("POST", "/api/v1/apikeys", e.tok["admin"], `{"name":"cams","role":"operator","region":"1401"}`), &created)
	if !strings.HasPrefix(created.Key, "pk_") || created.ID == "" || created.Role != "operator" {
		t.Fatalf("created key %+v", created)
	}
	if w := e.do("GET", "/api/v1/apikeys", e.tok["admin"], ""); strings.Contains(w.Body.String(), created.Key) || strings.Contains(w.Body.String(), "hash") {
		t.Errorf("key list shows the key: %s", w.Body)
	}
	if w := e.do("GET", "/api/v1/me", created.Key, ""); w.Code != 200 {
		t.Errorf("new API key: %d", w.Code)
	}

	var page struct {
		Entries []auth.Entry
		Next    uint64
	}
	decode(t, e.do("GET", "/api/v1/audit?limit=2", e.tok["admin"], ""), &page)
	if len(page.Entries) != 2 || page.Next != page.Entries[1].Offset {
		t.Errorf("audit page %+v", page)
	}
	decode(t, e.do("GET", "/api/v1/audit", e.tok["ty-admin"], ""), &page)
	for _, en := range page.Entries {
		if !strings.HasPrefix(en.Region, "1401") {
			t.Errorf("scoped admin sees %+v", en)
		}
	}
	if len(page.Entries) == 0 {
		t.Error("scoped admin sees no audit entries")
	}
}

func decode(t *testing.T, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if w.Code >= 300 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
}

func TestLoginOverHTTP(t *testing.T) {
	e := newUsersEnv(t, 3)
	srv := httptest.NewServer(e.rt)
	defer srv.Close()
	post := func(body string) *http.Response {
		t.Helper()
		res, err := srv.Client().Post(srv.URL+"/api/v1/auth/login", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	res := post(`{"username":"admin","password":"` + usersAdminPW + `"}`)
	var ok struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
		User      map[string]any
	}
	if err := json.NewDecoder(res.Body).Decode(&ok); err != nil || res.StatusCode != 200 {
		t.Fatalf("login %d, %v", res.StatusCode, err)
	}
	if ok.Token == "" || time.Until(ok.ExpiresAt) < 59*time.Minute || ok.User["username"] != "admin" || ok.User["role"] != "admin" {
		t.Errorf("login response %+v", ok)
	}
	if _, has := ok.User["password"]; has {
		t.Error("login response has a password")
	}
	// Three failures lock the username (and this address) for the window.
	for range 3 {
		if res := post(`{"username":"admin","password":"wrong-password"}`); res.StatusCode != 401 {
			t.Fatalf("wrong password: %d", res.StatusCode)
		}
	}
	res = post(`{"username":"admin","password":"` + usersAdminPW + `"}`)
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Errorf("throttled login: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// X-Forwarded-For is not trusted by default: the lock follows the connection.
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/auth/login", strings.NewReader(`{"username":"other","password":"password1"}`))
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 {
		t.Errorf("spoofed X-Forwarded-For: %d, want 429", res.StatusCode)
	}
}

// loginBodies drive TestLoginBodies and seed FuzzLoginJSON.
var loginBodies = []struct {
	body   string
	status int
}{
	{`{"username":"admin","password":"admin-password"}`, 200},
	{`{"username":"admin","password":"wrong-password"}`, 401},
	{`{"username":"nobody","password":"whatever1"}`, 401},
	{`{"username":"admin"}`, 400},
	{`{"password":"x"}`, 400},
	{`{}`, 400},
	{``, 400},
	{`{`, 400},
	{`null`, 400},
	{`[]`, 400},
	{`"admin"`, 400},
	{`{"username":1,"password":2}`, 400},
	{`{"username":"admin","password":"admin-password","extra":1}`, 400},
	{`{"username":"admin","password":"admin-password"} {}`, 400},
	{`{"username":"` + strings.Repeat("a", 5000) + `","password":"x"}`, 401},
	{`{"username":"../../etc","password":"\u0000\ud800"}`, 401},
	{`{"username":"管理员","password":"密码密码密码密码"}`, 401},
}

func TestLoginBodies(t *testing.T) {
	e := newUsersEnv(t, 1000)
	for _, c := range loginBodies {
		w := e.do("POST", "/api/v1/auth/login", "", c.body)
		if w.Code != c.status {
			t.Errorf("%.60q: %d, want %d: %s", c.body, w.Code, c.status, w.Body)
		}
		if w.Code >= 400 {
			checkError(t, w, "")
		}
	}
	big := `{"username":"admin","password":"` + strings.Repeat("x", 1<<17) + `"}`
	if w := e.do("POST", "/api/v1/auth/login", "", big); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", w.Code)
	}
}

// FuzzLoginJSON: the login handler never panics and never answers 500.
func FuzzLoginJSON(f *testing.F) {
	for _, c := range loginBodies {
		f.Add([]byte(c.body))
	}
	e := newUsersEnv(f, 1<<30)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(string(body)))
		w := httptest.NewRecorder()
		e.rt.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%q: status %d: %s", body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			checkError(t, w, "")
		}
	})
}
