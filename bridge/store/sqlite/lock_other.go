//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || windows)

package sqlite

import (
	"fmt"
	"os"
	"runtime"
)

// tryLock fails: this platform has no lock the store knows how to take, and
// an exclusive open must not pretend to hold one.
func tryLock(*os.File) error {
	return fmt.Errorf("exclusive locks are not supported on %s", runtime.GOOS)
}

func unlock(*os.File) error { return nil }
