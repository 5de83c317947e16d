package ps

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the demuxer pure: no WebRTC stack, no RTSP library
// (STYLE.md §1, package map: media/ps may not import pion/webrtc or gortsplib).
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "pingan/media/ps").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/pion/webrtc", "github.com/bluenviron/gortsplib"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("media/ps depends on %s", dep)
			}
		}
	}
}
