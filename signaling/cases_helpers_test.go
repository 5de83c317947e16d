package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"pingan/configs"
	"pingan/dispatch"
	"pingan/internal/auth"
	"pingan/internal/store/bolt"
)

// hotlineSecret signs test work orders.
const hotlineSecret = "test-hotline-secret"

// dispatchPrincipals are the callers of the dispatch API tests, by token.
var dispatchPrincipals = map[string]auth.Principal{
	"admin":    {Username: "root", Role: auth.RoleAdmin},
	"leader":   {Username: "boss", Role: auth.RoleLeader, Region: "1401"},
	"op105":    {Username: "op105", Role: auth.RoleOperator, Region: "140105"},
	"op106":    {Username: "op106", Role: auth.RoleOperator, Region: "140106"},
	"med105":   {Username: "med105", Role: auth.RoleMediator, Region: "140105"},
	"grid105":  {Username: "grid105", Role: auth.RoleGrid, Region: "140105"},
	"trainee":  {Username: "tr", Role: auth.RoleTrainee, Region: "140105"},
	"trainer":  {Username: "teacher", Role: auth.RoleTrainer},
	"intg":     {Username: "apikey:12345", Role: auth.RoleIntegration},
	"op105dup": {Username: "op105b", Role: auth.RoleOperator, Region: "140105"},
}

type dispatchAuth struct{}

func (dispatchAuth) Authenticate(_ context.Context, tok string) (auth.Principal, error) {
	if p, ok := dispatchPrincipals[tok]; ok {
		return p, nil
	}
	return auth.Principal{}, auth.ErrInvalidToken
}

// fakeCameras is a dispatch.CameraLocator with one function field.
type fakeCameras struct {
	cameras func(ctx context.Context, region string) ([]dispatch.Camera, error)
}

func (f fakeCameras) Cameras(ctx context.Context, region string) ([]dispatch.Camera, error) {
	return f.cameras(ctx, region)
}

// caseAuditRec records audit entries.
type caseAuditRec struct {
	mu      sync.Mutex
	entries []auth.Entry
}

func (a *caseAuditRec) Audit(_ context.Context, e auth.Entry) error {
	a.mu.Lock()
	a.entries = append(a.entries, e)
	a.mu.Unlock()
	return nil
}

func (a *caseAuditRec) all() []auth.Entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]auth.Entry(nil), a.entries...)
}

// dispatchEnv is a real dispatch.Service on a bbolt file behind the
// dispatch APIs on an httptest server.
type dispatchEnv struct {
	t      testing.TB
	svc    *dispatch.Service
	srv    *httptest.Server
	rt     *Router
	audits *caseAuditRec
}

func dispatchTestConfig() configs.DispatchConfig {
	cfg := configs.Default().Dispatch
	cfg.Hotline.Secret = hotlineSecret
	cfg.Hotline.Region = "140105"
	return cfg
}

func newDispatchEnv(t testing.TB) *dispatchEnv {
	t.Helper()
	return newDispatchEnvWith(t, nil)
}

// newDispatchEnvWith is newDispatchEnv with edit applied to the dispatch config.
func newDispatchEnvWith(t testing.TB, edit func(*configs.DispatchConfig)) *dispatchEnv {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "pingan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := dispatchTestConfig()
	if edit != nil {
		edit(&cfg)
	}
	svc, err := dispatch.New(st, cfg, time.UTC, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &dispatchEnv{t: t, svc: svc, rt: NewRouter(dispatchAuth{}, 1<<20), audits: &caseAuditRec{}}
	cases := NewCasesAPI(svc)
	cases.Audit = e.audits
	cases.Routes(e.rt)
	caseTypes := NewCaseTypesAPI(svc)
	caseTypes.Audit = e.audits
	caseTypes.Routes(e.rt)
	NewIncidentsAPI(svc).Routes(e.rt)
	NewDepartmentsAPI(svc).Routes(e.rt)
	NewIntakeAPI(svc).Routes(e.rt)
	NewStatsAPI(svc).Routes(e.rt)
	NewEventsAPI(svc).Routes(e.rt)
	e.srv = httptest.NewServer(e.rt)
	t.Cleanup(e.srv.Close)
	return e
}

// do sends a JSON request (body marshalled unless it is []byte) and decodes
// the answer into out when out is not nil.
func (e *dispatchEnv) do(method, path, token string, body, out any) int {
	e.t.Helper()
	res := e.send(method, path, token, body, nil)
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return res.StatusCode
}

func (e *dispatchEnv) send(method, path, token string, body any, hdr http.Header) *http.Response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// apiCase is a case as the API returns it.
type apiCase struct {
	Code           string   `json:"code"`
	State          string   `json:"state"`
	Version        uint64   `json:"version"`
	Colour         string   `json:"colour"`
	Region         string   `json:"region"`
	Existing       bool     `json:"existing"`
	AllowedActions []string `json:"allowed_actions"`
	Departments    []struct {
		Department string `json:"department"`
		State      string `json:"state"`
	} `json:"departments"`
	Timeline []struct {
		Action string `json:"action"`
	} `json:"timeline"`
}

// apiError is the error envelope.
type apiError struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func (e *dispatchEnv) createCase(token, region, extID string) apiCase {
	e.t.Helper()
	var c apiCase
	nc := map[string]any{"type": "dispute", "source": "walkin", "title": "邻里噪音纠纷", "region": region,
		"location": map[string]any{"address": "小店区某小区", "lat": 37.75, "lon": 112.56}}
	if extID != "" {
		nc["external_id"] = extID
	}
	if code := e.do("POST", "/api/v1/cases", token, nc, &c); code != http.StatusCreated && code != http.StatusOK {
		e.t.Fatalf("create case: status %d", code)
	}
	return c
}

func (e *dispatchEnv) createDepartment(id, region string) {
	e.t.Helper()
	if code := e.do("POST", "/api/v1/departments", "admin", map[string]string{"id": id, "name": id + " 部门", "region": region}, nil); code != http.StatusCreated {
		e.t.Fatalf("create department %s: status %d", id, code)
	}
}

// transition posts an action and returns the status and the case or error.
func (e *dispatchEnv) transition(token, code string, body map[string]any) (int, apiCase, apiError) {
	e.t.Helper()
	res := e.send("POST", "/api/v1/cases/"+code+"/transitions", token, body, nil)
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var c apiCase
	var ae apiError
	if res.StatusCode == http.StatusOK {
		_ = json.Unmarshal(data, &c)
	} else {
		_ = json.Unmarshal(data, &ae)
	}
	return res.StatusCode, c, ae
}

// mustTransition is transition that must succeed.
func (e *dispatchEnv) mustTransition(token string, c apiCase, body map[string]any) apiCase {
	e.t.Helper()
	body["version"] = c.Version
	code, n, ae := e.transition(token, c.Code, body)
	if code != http.StatusOK {
		e.t.Fatalf("%v on %s: status %d %+v", body["action"], c.Code, code, ae.Error)
	}
	return n
}
