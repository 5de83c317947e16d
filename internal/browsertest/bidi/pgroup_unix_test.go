//go:build unix

package bidi_test

import (
	"errors"
	"syscall"
)

// processGroupAlive reports whether any process of group pgid is left.
func processGroupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || !errors.Is(err, syscall.ESRCH)
}
