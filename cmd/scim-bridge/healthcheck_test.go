package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
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
