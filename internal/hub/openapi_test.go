package hub

import (
	"context"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"pingan/configs"
	"pingan/internal/testutil"
)

// TestOpenAPIMatchesRoutes: docs/openapi.yaml describes exactly the routes
// the hub registers (method and path), so the document cannot drift.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	cfg := configs.Default()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-secret-1"
	cfg.WebRTC.UDPPort = testutil.FreeUDPTCPPort(t)
	cfg.WebRTC.TCPPort = -1
	cfg.Log.Level = "error"
	h, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.closeAll()

	registered := map[string]bool{}
	for _, r := range h.web.router.Routes() {
		method, path, ok := strings.Cut(r, " ")
		if !ok {
			continue // method-less patterns (static files) are not API
		}
		registered[method+" "+openAPIPath(path)] = true
	}

	raw, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	var missing, extra []string
	for r := range registered {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for d := range documented {
		if !registered[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("docs/openapi.yaml is out of date.\nregistered but not documented:\n  %s\ndocumented but not registered:\n  %s",
			strings.Join(missing, "\n  "), strings.Join(extra, "\n  "))
	}
}

var wildcard = regexp.MustCompile(`\{([a-z_]+)\.\.\.\}`)

// openAPIPath turns a Go 1.22 mux pattern path into an OpenAPI path.
func openAPIPath(p string) string {
	return wildcard.ReplaceAllString(p, "{$1}")
}
