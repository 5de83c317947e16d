package procstat

import (
	"bufio"
	"context"
	"os"
	"os/exec"
)

// StartChild runs this executable again with args — a harness's client
// side, so that its CPU is not the measured process's — with its stderr
// going to ours. The child's stdout comes as lines; wait reaps it (call
// it once, when done reading). ctx ending kills the child.
func StartChild(ctx context.Context, args ...string) (lines *bufio.Scanner, wait func() error, err error) {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return bufio.NewScanner(out), cmd.Wait, nil
}
