package record

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the recorder below the store, signaling, dispatch and the
// gateways: it writes files, its callers keep the metadata (STYLE.md).
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "pingan/media/record").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	banned := []string{"pingan/internal/store", "pingan/gateway", "pingan/signaling", "pingan/dispatch",
		"pingan/internal/auth", "github.com/ghettovoice/gosip"}
	for _, dep := range strings.Fields(string(out)) {
		for _, b := range banned {
			if dep == b || strings.HasPrefix(dep, b+"/") {
				t.Errorf("pingan/media/record imports %s", dep)
			}
		}
	}
}
