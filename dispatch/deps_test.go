package dispatch

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps dispatch free of video: it may import internal/store,
// internal/auth, configs and the standard library (plus go-qrcode).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "pingan/dispatch").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	banned := []string{"pingan/media", "pingan/gateway", "pingan/signaling", "github.com/pion/",
		"github.com/bluenviron/gortsplib", "github.com/ghettovoice/gosip"}
	for _, dep := range strings.Fields(string(out)) {
		for _, b := range banned {
			if dep == b || strings.HasPrefix(dep, b) {
				t.Errorf("dispatch depends on %s", dep)
			}
		}
	}
}
