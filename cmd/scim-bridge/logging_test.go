package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

func TestOneShotCommandsPrintNoJSON(t *testing.T) {
	newCLIAccount(t, simulator.Options{})
	t.Setenv("SCIM_BRIDGE_LOG_LEVEL", "info")
	for _, args := range [][]string{{"report"}, {"reconcile", "--dry-run"}, {"dead-letters"}} {
		_, out, errOut := runCLI(args...)
		for _, line := range strings.Split(out+errOut, "\n") {
			require.False(t, strings.HasPrefix(strings.TrimSpace(line), `{"level"`), "%v printed a JSON log line: %s", args, line)
		}
	}
}
