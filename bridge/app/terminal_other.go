//go:build !linux

package app

import (
	"io"
	"os"
)

// IsTerminal reports whether w is a character device other than the null
// device, which on these systems stands in for "a terminal" (the bridge's
// images and CI run on Linux, where the check is exact).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}
