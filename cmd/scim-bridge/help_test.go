package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/config"
)

// TestHelpEverywhere: -h and --help print the command's usage on standard
// output and exit 0 for every command, "help COMMAND" does the same, and
// nothing is started.
func TestHelpEverywhere(t *testing.T) {
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "-h"}, {c.name, "--help"}, {"help", c.name}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, errOut := runCLI(args...)
				require.Equal(t, exitOK, code, "stderr: %s", errOut)
				require.Contains(t, out, "Usage: scim-bridge "+c.name)
				require.Empty(t, errOut)
			})
		}
	}
}

func TestTopLevelHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, errOut := runCLI(args...)
		require.Equal(t, exitOK, code, args)
		require.Empty(t, errOut)
		require.Contains(t, out, "Usage: scim-bridge <command> [flags]")
	}
	code, out, errOut := runCLI()
	require.Equal(t, exitUsage, code, "no command is a usage error")
	require.Empty(t, out)
	require.Contains(t, errOut, "Commands:")

	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		code, out, errOut := runCLI(args...)
		require.Equal(t, exitOK, code, args)
		require.Equal(t, "scim-bridge "+version+"\n", out, args)
		require.Empty(t, errOut)
	}
	code, _, errOut = runCLI("version", "extra")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, `unexpected argument "extra"`)

	code, _, errOut = runCLI("serve", "--nope")
	require.Equal(t, exitUsage, code)
	require.Equal(t, "scim-bridge serve: flag provided but not defined: -nope\nRun \"scim-bridge serve -h\" for the flags.\n", errOut,
		"a mistake prints the problem and a hint, not the whole usage")
}

// TestCommandListIsAligned: every summary in the command list starts in the
// same column.
func TestCommandListIsAligned(t *testing.T) {
	_, out, _ := runCLI("help")
	col := -1
	row := regexp.MustCompile(`^  (\S+)(\s+)\S`)
	n := 0
	for _, line := range strings.Split(out, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		at := 2 + len(m[1]) + len(m[2])
		if col < 0 {
			col = at
		}
		require.Equal(t, col, at, "%q is not aligned", line)
	}
	require.Equal(t, len(commands()), n)
}

// TestServeHelpListsTheEnvironment: serve -h lists every SCIM_BRIDGE_*
// variable with its default.
func TestServeHelpListsTheEnvironment(t *testing.T) {
	code, out, _ := runCLI("serve", "-h")
	require.Equal(t, exitOK, code)
	for _, e := range config.Environment() {
		require.Regexp(t, `(?m)^  `+e.Name+`\s+`+regexp.QuoteMeta(helpDefault(e.Default))+`\s+`+regexp.QuoteMeta(e.Field)+`$`, out)
	}
	require.Contains(t, out, config.EnvConfigFile)
	require.Regexp(t, `(?m)^  SCIM_BRIDGE_BC_RATE_LIMIT +70/1h +bigcommerce\.rate_limit$`, out)
	require.Regexp(t, `(?m)^  SCIM_BRIDGE_BC_TOKEN +- +bigcommerce\.token$`, out)
}
