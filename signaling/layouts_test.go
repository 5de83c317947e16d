package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"pingan/internal/auth"
	"pingan/internal/store/bolt"
)

// layoutPrincipals are the callers of the layout tests, by token.
var layoutPrincipals = map[string]auth.Principal{
	"alice": {Username: "alice", Role: auth.RoleOperator, Region: "140105"},
	"bob":   {Username: "bob", Role: auth.RoleOperator, Region: "140105"},
	"guest": {Username: "guest:x", Role: auth.RoleTrainee, Room: "r1"},
}

type layoutAuth struct{}

func (layoutAuth) Authenticate(_ context.Context, tok string) (auth.Principal, error) {
	if p, ok := layoutPrincipals[tok]; ok {
		return p, nil
	}
	return auth.Principal{}, auth.ErrInvalidToken
}

// newLayoutServer serves LayoutsAPI over a bbolt file.
func newLayoutServer(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "pingan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	rt := NewRouter(layoutAuth{}, 1<<20)
	NewLayoutsAPI(st).Routes(rt)
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return srv
}

// layoutCall sends body (marshalled unless []byte or string) and returns
// the status and the answer.
func layoutCall(t *testing.T, srv *httptest.Server, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

func layoutPath(name string) string { return "/api/v1/me/layouts/" + url.PathEscape(name) }

func listLayouts(t *testing.T, srv *httptest.Server, token string) []WallLayout {
	t.Helper()
	code, data := layoutCall(t, srv, "GET", "/api/v1/me/layouts", token, nil)
	if code != http.StatusOK {
		t.Fatalf("list as %s: %d %s", token, code, data)
	}
	var out layoutSet
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out.Layouts
}

func TestLayoutsPerUser(t *testing.T) {
	srv := newLayoutServer(t)
	if got := listLayouts(t, srv, "alice"); got == nil || len(got) != 0 {
		t.Fatalf("fresh user has layouts %+v", got)
	}
	wall := map[string]any{"size": 4, "tiles": []any{map[string]string{"stream": "demo/1", "label": "大门"}, nil, map[string]string{"stream": "gb/34020000001320000001"}}}
	if code, data := layoutCall(t, srv, "PUT", layoutPath("值班 早班"), "alice", wall); code != http.StatusCreated {
		t.Fatalf("first save: %d %s", code, data)
	}
	wall["size"] = 9
	if code, data := layoutCall(t, srv, "PUT", layoutPath("值班 早班"), "alice", wall); code != http.StatusOK {
		t.Fatalf("replace: %d %s", code, data)
	}
	if code, data := layoutCall(t, srv, "PUT", layoutPath("A"), "alice", map[string]any{"size": 1, "tiles": []any{}}); code != http.StatusCreated {
		t.Fatalf("second layout: %d %s", code, data)
	}
	got := listLayouts(t, srv, "alice")
	if len(got) != 2 || got[0].Name != "A" || got[1].Name != "值班 早班" || got[1].Size != 9 || len(got[1].Tiles) != 3 ||
		got[1].Tiles[0].Stream != "demo/1" || got[1].Tiles[0].Label != "大门" || got[1].Tiles[1] != nil || got[1].Updated.IsZero() {
		t.Fatalf("alice's layouts: %+v", got)
	}

	// Bob sees none of them and cannot delete them.
	if got := listLayouts(t, srv, "bob"); len(got) != 0 {
		t.Fatalf("bob sees %+v", got)
	}
	if code, _ := layoutCall(t, srv, "DELETE", layoutPath("A"), "bob", nil); code != http.StatusNotFound {
		t.Errorf("bob deleted alice's layout: %d", code)
	}
	if code, _ := layoutCall(t, srv, "DELETE", layoutPath("A"), "alice", nil); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if code, _ := layoutCall(t, srv, "DELETE", layoutPath("A"), "alice", nil); code != http.StatusNotFound {
		t.Errorf("second delete: %d", code)
	}
	if got := listLayouts(t, srv, "alice"); len(got) != 1 {
		t.Errorf("after delete: %+v", got)
	}
}

func TestLayoutsNeedAUser(t *testing.T) {
	srv := newLayoutServer(t)
	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/api/v1/me/layouts", "", http.StatusUnauthorized},
		{"PUT", layoutPath("a"), "", http.StatusUnauthorized},
		{"DELETE", layoutPath("a"), "", http.StatusUnauthorized},
		{"GET", "/api/v1/me/layouts", "forged", http.StatusUnauthorized},
		{"GET", "/api/v1/me/layouts", "guest", http.StatusForbidden},
		{"PUT", layoutPath("a"), "guest", http.StatusForbidden},
	} {
		if code, _ := layoutCall(t, srv, tc.method, tc.path, tc.token, `{"size":1,"tiles":[]}`); code != tc.want {
			t.Errorf("%s %s as %q: %d, want %d", tc.method, tc.path, tc.token, code, tc.want)
		}
	}
}

// layoutBodies feed TestLayoutValidation and seed FuzzDecodeLayout.
var layoutBodies = []struct {
	name, body string
	want       int // 0 = valid
}{
	{"one tile", `{"size":1,"tiles":[{"stream":"demo/1"}]}`, 0},
	{"empty tiles", `{"size":16,"tiles":[null,null,{"stream":"rtsp/gate","label":"东门"}]}`, 0},
	{"no tiles", `{"size":4}`, 0},
	{"size 2", `{"size":2,"tiles":[]}`, 422},
	{"size 25", `{"size":25,"tiles":[]}`, 422},
	{"size 0", `{"tiles":[]}`, 422},
	{"more tiles than grid", `{"size":1,"tiles":[{"stream":"a"},{"stream":"b"}]}`, 422},
	{"seventeen tiles", `{"size":16,"tiles":[` + strings.Repeat(`null,`, 16) + `null]}`, 422},
	{"empty stream", `{"size":4,"tiles":[{"stream":""}]}`, 422},
	{"long stream", `{"size":4,"tiles":[{"stream":"` + strings.Repeat("s", 257) + `"}]}`, 422},
	{"longest stream", `{"size":4,"tiles":[{"stream":"` + strings.Repeat("s", 256) + `"}]}`, 0},
	{"control in stream", `{"size":4,"tiles":[{"stream":"a\u0000b"}]}`, 422},
	{"long label", `{"size":4,"tiles":[{"stream":"a","label":"` + strings.Repeat("l", 257) + `"}]}`, 422},
	{"malformed", `{"size":4,`, 400},
	{"wrong type", `{"size":"4"}`, 400},
	{"unknown field", `{"size":4,"colour":"red"}`, 400},
	{"trailing", `{"size":4} {"size":1}`, 400},
	{"empty body", ``, 400},
	{"array", `[]`, 400},
}

func TestLayoutValidation(t *testing.T) {
	srv := newLayoutServer(t)
	for _, tc := range layoutBodies {
		want := tc.want
		if want == 0 {
			want = http.StatusCreated
		}
		name := "v-" + tc.name
		if code, data := layoutCall(t, srv, "PUT", layoutPath(name), "alice", tc.body); code != want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, data, want)
		}
	}
	for _, name := range []string{" padded", strings.Repeat("名", 65), "tab\tname"} {
		if code, _ := layoutCall(t, srv, "PUT", layoutPath(name), "alice", `{"size":1}`); code != http.StatusUnprocessableEntity {
			t.Errorf("name %q: %d, want 422", name, code)
		}
	}
	if code, _ := layoutCall(t, srv, "PUT", layoutPath(strings.Repeat("名", 64)), "alice", `{"size":1}`); code != http.StatusCreated {
		t.Errorf("64-character name: %d", code)
	}
	big := `{"size":4,"tiles":[{"stream":"a","label":"` + strings.Repeat("x", 70<<10) + `"}]}`
	if code, _ := layoutCall(t, srv, "PUT", layoutPath("big"), "alice", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KB body: %d, want 413", code)
	}
}

// TestLayoutsLimit: the 51st layout is refused, replacing one is not, and
// concurrent saves never push a user past the limit.
func TestLayoutsLimit(t *testing.T) {
	srv := newLayoutServer(t)
	var wg sync.WaitGroup
	codes := make([]int, MaxLayouts+10)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = layoutCall(t, srv, "PUT", layoutPath(fmt.Sprintf("L%02d", i)), "alice", `{"size":1,"tiles":[{"stream":"demo/1"}]}`)
		}()
	}
	wg.Wait()
	created, refused := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusUnprocessableEntity:
			refused++
		default:
			t.Errorf("status %d", c)
		}
	}
	if created != MaxLayouts || refused != 10 {
		t.Fatalf("%d created, %d refused; want %d and 10", created, refused, MaxLayouts)
	}
	got := listLayouts(t, srv, "alice")
	if len(got) != MaxLayouts {
		t.Fatalf("%d stored", len(got))
	}
	if code, _ := layoutCall(t, srv, "PUT", layoutPath(got[0].Name), "alice", `{"size":4}`); code != http.StatusOK {
		t.Errorf("replace at the limit: %d", code)
	}
	code, data := layoutCall(t, srv, "PUT", layoutPath("one more"), "alice", `{"size":4}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(data), "too_many_layouts") {
		t.Errorf("51st layout: %d %s", code, data)
	}
	if got := listLayouts(t, srv, "bob"); len(got) != 0 {
		t.Errorf("bob: %d layouts", len(got))
	}
}

// FuzzDecodeLayout: no input panics; an error is a 400 or 422 API error;
// what decodes encodes and decodes back to the same layout.
func FuzzDecodeLayout(f *testing.F) {
	for _, tc := range layoutBodies {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := DecodeLayout(body)
		if err != nil {
			ae, ok := err.(*Error)
			if !ok || (ae.Status != http.StatusBadRequest && ae.Status != http.StatusUnprocessableEntity) {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if len(l.Tiles) > l.Size || l.Size > 16 {
			t.Fatalf("accepted %d tiles in a grid of %d", len(l.Tiles), l.Size)
		}
		data, err := json.Marshal(layoutBody{Size: l.Size, Tiles: l.Tiles})
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeLayout(data)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", data, err)
		}
		if !reflect.DeepEqual(l, again) {
			t.Fatalf("round trip changed %+v into %+v", l, again)
		}
	})
}
