//go:build unix

package bidi

import (
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// setProcessGroup puts the browser in a process group of its own so its
// content processes can be stopped together.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup kills every process of the browser's group and waits
// (up to wait) until none is left.
func killProcessGroup(cmd *exec.Cmd, wait time.Duration) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
