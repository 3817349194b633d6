// Package cli holds what the project's commands share: exit statuses and
// flag parsing that sends help to standard output with status 0.
package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Exit statuses shared by the commands.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// ParseFlags parses args into fs. Help (-h) prints the flags to stdout and
// returns ExitOK with ok false; a bad flag prints the error and how to get
// help to stderr and returns ExitUsage. program names the binary in messages.
// The usage function of fs must write to fs.Output().
func ParseFlags(program string, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	switch {
	case err == nil:
		return ExitOK, true
	case errors.Is(err, flag.ErrHelp):
		_, _ = stdout.Write(buf.Bytes())
		return ExitOK, false
	default:
		fmt.Fprintf(stderr, "%s %s: %v\nRun \"%s %s -h\" for the flags.\n", program, fs.Name(), err, program, fs.Name())
		return ExitUsage, false
	}
}
