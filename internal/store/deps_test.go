package store_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps internal/store and its backends below the packages that
// use them (STYLE.md §1, like tailscale's cmd/derper TestDeps).
func TestDeps(t *testing.T) {
	banned := []string{"pingan/media", "pingan/gateway", "pingan/signaling", "pingan/dispatch"}
	out, err := exec.Command("go", "list", "-deps", "-test", "pingan/internal/store/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, b := range banned {
			if dep == b || strings.HasPrefix(dep, b+"/") {
				t.Errorf("internal/store depends on %s (banned: %s)", dep, b)
			}
		}
	}
}
