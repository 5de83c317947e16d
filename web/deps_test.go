package web

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: web imports nothing of ours (STYLE.md package map).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "pingan/web").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "pingan/") && dep != "pingan/web" {
			t.Errorf("web depends on %s", dep)
		}
	}
}
