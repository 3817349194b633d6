package main

import (
	"bytes"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDemoSaysWhenItMovesOffABusyPort: a taken port is replaced by a free
// one, and the demo says so.
func TestDemoSaysWhenItMovesOffABusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()

	var out bytes.Buffer
	ln, err := listenOrAny(busy.Addr().String(), "SCIM", &out)
	require.NoError(t, err)
	defer ln.Close()
	require.NotEqual(t, busy.Addr().String(), ln.Addr().String())
	require.Equal(t, "scim-bridge demo: "+busy.Addr().String()+" is busy, so the SCIM listener uses "+ln.Addr().String()+
		" instead (the URLs below have it).\n", out.String())

	out.Reset()
	free := ln.Addr().String()
	require.NoError(t, ln.Close())
	ln, err = listenOrAny(free, "telemetry", &out)
	require.NoError(t, err)
	defer ln.Close()
	require.Equal(t, free, ln.Addr().String())
	require.Empty(t, out.String(), "nothing to say when the port is free")
}
