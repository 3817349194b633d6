package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer ts.Close()
	var out, errb bytes.Buffer
	require.Equal(t, exitOK, run([]string{"healthcheck", "--url", ts.URL + "/readyz"}, &out, &errb))
	status = http.StatusServiceUnavailable
	require.Equal(t, exitError, run([]string{"healthcheck", "--url", ts.URL + "/readyz"}, &out, &errb))
	require.Contains(t, errb.String(), "answered 503")
	ts.Close()
	require.Equal(t, exitError, run([]string{"healthcheck", "--url", ts.URL}, &out, &errb))
}

// TestHealthcheckReadsTheConfiguration: without --url the probe goes to
// /readyz on the telemetry listener serve would use, from the file, the
// environment or the flag, with an unspecified host probed on loopback.
func TestHealthcheckReadsTheConfiguration(t *testing.T) {
	var (
		mu    sync.Mutex
		paths []string
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		paths = append(paths, r.URL.Path)
		w.WriteHeader(http.StatusOK)
	}))
	defer ts.Close()
	_, port, err := net.SplitHostPort(ts.Listener.Addr().String())
	require.NoError(t, err)

	probe := func(t *testing.T, args ...string) (int, string) {
		t.Helper()
		code, _, errOut := runCLI(append([]string{"healthcheck"}, args...)...)
		return code, errOut
	}
	t.Run("environment", func(t *testing.T) {
		t.Setenv("SCIM_BRIDGE_TELEMETRY_LISTEN", ":"+port)
		code, errOut := probe(t)
		require.Equal(t, exitOK, code, errOut)
	})
	t.Run("environment, every address", func(t *testing.T) {
		t.Setenv("SCIM_BRIDGE_TELEMETRY_LISTEN", "0.0.0.0:"+port)
		code, errOut := probe(t)
		require.Equal(t, exitOK, code, errOut)
	})
	t.Run("file named by SCIM_BRIDGE_CONFIG", func(t *testing.T) {
		t.Setenv("SCIM_BRIDGE_CONFIG", writeConfig(t, "telemetry_listen: \"127.0.0.1:"+port+"\"\n"))
		code, errOut := probe(t)
		require.Equal(t, exitOK, code, errOut)
	})
	t.Run("--config and the flag", func(t *testing.T) {
		path := writeConfig(t, "telemetry_listen: \"127.0.0.1:1\"\n")
		code, _ := probe(t, "--config", path)
		require.Equal(t, exitError, code, "the file's port is closed")
		code, errOut := probe(t, "--config", path, "--telemetry-listen", ":"+port)
		require.Equal(t, exitOK, code, errOut)
	})
	t.Run("the default port when nothing is configured", func(t *testing.T) {
		code, errOut := probe(t, "--timeout", "200ms")
		if code == exitError {
			require.Contains(t, errOut, "127.0.0.1:9464/readyz")
		}
	})
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, paths)
	for _, p := range paths {
		require.Equal(t, "/readyz", p)
	}
}

func TestProbeAddress(t *testing.T) {
	for listen, want := range map[string]string{
		":9464": "127.0.0.1:9464", "0.0.0.0:9464": "127.0.0.1:9464", "[::]:9464": "[::1]:9464",
		"10.1.2.3:9000": "10.1.2.3:9000", "localhost:9464": "localhost:9464", "[::1]:9464": "[::1]:9464",
	} {
		got, err := probeAddress(listen)
		require.NoError(t, err, listen)
		require.Equal(t, want, got, listen)
	}
	for _, bad := range []string{"9464", "127.0.0.1:0", ""} {
		_, err := probeAddress(bad)
		require.Error(t, err, bad)
	}
}
