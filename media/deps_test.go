package media

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps media below the gateways, signaling and dispatch
// (STYLE.md, package map).
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "pingan/media").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	banned := []string{"pingan/gateway", "pingan/signaling", "pingan/dispatch", "github.com/ghettovoice/gosip"}
	for _, dep := range strings.Fields(string(out)) {
		for _, b := range banned {
			if dep == b || strings.HasPrefix(dep, b+"/") {
				t.Errorf("pingan/media imports %s", dep)
			}
		}
	}
}
