package configs

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: configs imports nothing of ours (STYLE.md §1).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "pingan/configs").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "pingan/") && dep != "pingan/configs" {
			t.Errorf("configs depends on %s", dep)
		}
	}
}
