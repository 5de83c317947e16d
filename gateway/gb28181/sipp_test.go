package gb28181

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"pingan/internal/testutil"
)

// TestSIPp runs the sipp (sip-tester) scenarios in testdata/sipp against a
// live server: a UA that shares no code with gosip or with us. Skipped when
// sipp is missing, except in CI.
func TestSIPp(t *testing.T) {
	sipp := testutil.NeedTool(t, "sipp")
	ts := startServer(t, nil)
	for i, tc := range []struct {
		scenario  string
		password  string
		transport string // sipp -t: u1 UDP, t1 TCP
	}{
		{"register.xml", testPassword, "u1"},
		{"wrong_password.xml", "not-the-password", "u1"},
		{"keepalive.xml", testPassword, "u1"},
		{"unregister.xml", testPassword, "u1"},
		{"register.xml", testPassword, "t1"},
		{"keepalive.xml", testPassword, "t1"},
	} {
		t.Run(tc.scenario+"/"+tc.transport, func(t *testing.T) {
			device := "340200000013200001" + fmt.Sprintf("%02d", i)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			dir := t.TempDir()
			cmd := exec.CommandContext(ctx, sipp, ts.addr,
				"-sf", filepath.Join("testdata", "sipp", tc.scenario),
				"-i", "127.0.0.1", "-p", strconv.Itoa(testutil.FreeUDPTCPPort(t)),
				"-t", tc.transport, "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error",
				"-key", "device", device, "-key", "platform", testPlatform, "-key", "domain", testDomain,
				"-au", device, "-ap", tc.password,
				"-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
			cmd.Dir = "."
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				errs, _ := exec.Command("cat", filepath.Join(dir, "errors.log")).Output()
				t.Fatalf("sipp %s: %v\n%s\n%s", tc.scenario, err, tail(out.Bytes(), 2000), errs)
			}
			d, err := ts.Device(t.Context(), DeviceID(device))
			switch tc.scenario {
			case "wrong_password.xml":
				if err == nil && d.Online {
					t.Error("device online after a wrong password")
				}
			case "unregister.xml":
				if err != nil || d.Online {
					t.Errorf("after unregister: %+v %v", d, err)
				}
			default:
				if err != nil || !d.Online {
					t.Errorf("after register: %+v %v", d, err)
				}
			}
		})
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
