//go:build !linux

package app

import (
	"os"
	"runtime"
	"testing"
)

// openPTY skips the test: the pseudo-terminal helper is written for Linux.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Skipf("no pseudo-terminal helper on %s", runtime.GOOS)
	return nil, nil
}
