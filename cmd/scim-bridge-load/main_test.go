package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCommandList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, exitOK, run([]string{"help"}, &stdout, &stderr))
	for _, c := range commands() {
		require.Contains(t, stdout.String(), "  "+c.name+" ")
		var out, errOut bytes.Buffer
		require.Equal(t, exitOK, run([]string{c.name, "-h"}, &out, &errOut), "%s -h: %s", c.name, &errOut)
		require.Contains(t, out.String(), "Usage: scim-bridge-load "+c.name)
	}
	stdout.Reset()
	require.Equal(t, exitUsage, run([]string{"nope"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), `unknown command "nope"`)
}
