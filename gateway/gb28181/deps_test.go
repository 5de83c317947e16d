package gb28181

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the gateway below signaling and dispatch (STYLE §1).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"pingan/signaling", "pingan/dispatch", "pingan/internal/hub", "pingan/internal/auth"} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") {
				t.Errorf("gateway/gb28181 depends on %s", dep)
			}
		}
	}
}
