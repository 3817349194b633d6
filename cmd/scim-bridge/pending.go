package main

import (
	"context"
	"fmt"
	"io"
)

// notYet reports a subcommand whose implementation has not landed yet. It never
// pretends to work: it says so and exits non-zero.
func notYet(name, issue string) func(context.Context, []string, io.Writer, io.Writer) int {
	return func(_ context.Context, _ []string, _, stderr io.Writer) int {
		fmt.Fprintf(stderr, "scim-bridge %s: not yet available in this build (tracked in %s)\n", name, issue)
		return exitError
	}
}

var (
	runToken    = notYet("token", "issue 6")
	runValidate = notYet("validate", "issue 6")
)
