package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"testing"
)

// testDispatcher has one command, "echo", whose flag parsing treats -h as
// a usage error, and the alias "-e" for it.
func testDispatcher(helpTopics, helpAnywhere bool) *Dispatcher {
	echo := func(_ context.Context, args []string, stdout, stderr io.Writer) int {
		fs := flag.NewFlagSet("echo", flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.Bool("n", false, "no newline")
		if err := fs.Parse(args); err != nil {
			return ExitUsage
		}
		fmt.Fprintln(stdout, fs.Args())
		return ExitOK
	}
	return &Dispatcher{
		Program: "prog", Synopsis: "prog COMMAND", Footer: "The end.",
		Commands:   []Command{{"echo", "print the arguments", echo}, {"longer", "a longer name", echo}},
		Aliases:    map[string]string{"-e": "echo"},
		HelpTopics: helpTopics, HelpAnywhere: helpAnywhere,
	}
}

func TestDispatcher(t *testing.T) {
	usage := "Usage: prog COMMAND\n\nCommands:\n  echo    print the arguments\n  longer  a longer name\n\nThe end.\n"
	for _, tc := range []struct {
		name                    string
		topics, anywhere        bool
		args                    []string
		code                    int
		stdout, stderr          string
		stdoutPrefix, errPrefix bool
	}{
		{name: "no command", args: nil, code: ExitUsage, stderr: usage},
		{name: "help", args: []string{"help"}, code: ExitOK, stdout: usage},
		{name: "--help", args: []string{"--help"}, code: ExitOK, stdout: usage},
		{name: "help topic off", args: []string{"help", "echo"}, code: ExitOK, stdout: usage},
		{name: "help topic on", topics: true, args: []string{"help", "echo"}, code: ExitOK, stdout: "Usage of echo:", stdoutPrefix: true},
		{name: "unknown", args: []string{"nope"}, code: ExitUsage, stderr: "prog: unknown command \"nope\"; run \"prog help\" for the list\n"},
		{name: "command", args: []string{"echo", "a"}, code: ExitOK, stdout: "[a]\n"},
		{name: "alias", args: []string{"-e", "b"}, code: ExitOK, stdout: "[b]\n"},
		{name: "command help", args: []string{"echo", "-h"}, code: ExitOK, stdout: "Usage of echo:", stdoutPrefix: true},
		{name: "help after a flag, first only", args: []string{"echo", "-n", "-h"}, code: ExitUsage, stderr: "Usage of echo:", errPrefix: true},
		{name: "help after a flag, anywhere", anywhere: true, args: []string{"echo", "-n", "-h"}, code: ExitOK, stdout: "Usage of echo:", stdoutPrefix: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := testDispatcher(tc.topics, tc.anywhere).Run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("status %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			check := func(what, got, want string, prefix bool) {
				if prefix && len(got) >= len(want) {
					got = got[:len(want)]
				}
				if got != want {
					t.Errorf("%s %q, want %q", what, got, want)
				}
			}
			check("stdout", stdout.String(), tc.stdout, tc.stdoutPrefix)
			check("stderr", stderr.String(), tc.stderr, tc.errPrefix)
		})
	}
}
