//go:build !unix

package bidi

import (
	"os/exec"
	"time"
)

func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd, _ time.Duration) { _ = cmd.Process.Kill() }
