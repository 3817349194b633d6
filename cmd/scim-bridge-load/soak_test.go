package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// TestSoakShort runs a short soak on each backend: the whole bridge over TCP,
// 20 clients for 3 seconds. No request may get a 5xx, go unanswered or get
// another status than its kind expects, and every kind of the mix must have run.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole bridge under load for seconds; skipped with -short")
	}
	for _, tc := range []struct {
		name     string
		database func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "soak.db") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresDSN(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := soakOptions{Clients: 20, Duration: 3 * time.Second, Database: tc.database(t), UsersPerClient: 2, LogLevel: "info", Seed: 7}
			rep, err := soak(t.Context(), o, nil, nil)
			require.NoError(t, err)
			t.Logf("%s: %d requests (%.0f/s), p99 %.1f ms, %d 5xx, outbox %d", tc.name, rep.Requests, rep.PerSecond, rep.Latency.P99Ms, rep.ServerErrors, rep.OutboxPending)
			require.False(t, rep.failed(), "failures: %+v", rep.Failures)
			require.Zero(t, rep.ServerErrors)
			require.Zero(t, rep.TransportErrors)
			require.Zero(t, rep.Unexpected)
			require.Empty(t, rep.BridgeError)
			require.Equal(t, tc.name, rep.Store)
			// Even under -race on a busy machine, 20 clients send well over 50
			// requests in 3 s (about 200 on 2 CPUs under -race, 1,000 without).
			require.Greater(t, rep.Requests, 50)
			require.Equal(t, rep.Requests, rep.Latency.Count, "every answered request has a latency")
			for _, k := range []string{kindExistsCheck, kindCreate, kindGroupAdd} {
				require.Positive(t, rep.Kinds[k].Latency.Count, "kind %s ran", k)
			}
			// The rarest kinds weigh 4% of the steps: with a hundred steps at
			// least nine of the twelve kinds run, whatever the timing.
			require.GreaterOrEqual(t, len(rep.Kinds), 9, "kinds that ran: %v", rep.Kinds)
			require.Equal(t, rep.Kinds[kindDuplicate].Latency.Count, rep.Kinds[kindDuplicate].Statuses["409"], "duplicates answered 409")
			require.Equal(t, rep.Kinds[kindGetMissing].Latency.Count, rep.Kinds[kindGetMissing].Statuses["404"], "missing users answered 404")
			require.Positive(t, rep.UsersCreated)
			require.LessOrEqual(t, rep.Latency.P50Ms, rep.Latency.P99Ms)
			require.LessOrEqual(t, rep.Latency.P99Ms, rep.Latency.MaxMs)
			require.Positive(t, rep.MemoryBefore.HeapInuseBytes)
			require.GreaterOrEqual(t, rep.MemoryPeak.HeapInuseBytes, rep.MemoryAfter.HeapInuseBytes)
			require.GreaterOrEqual(t, rep.OutboxPending, 0, "the outbox depth was read")
			require.Positive(t, rep.LogCounts["info scim: scim request"], "the access log was counted")
		})
	}
}

// TestSoakCommand checks the command's flags, exit status and JSON output.
func TestSoakCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"zero clients", []string{"--clients", "0"}, exitUsage},
		{"negative duration", []string{"--duration", "-1s"}, exitUsage},
		{"zero users", []string{"--users-per-client", "0"}, exitUsage},
		{"bad output", []string{"--output", "xml"}, exitUsage},
		{"unknown flag", []string{"--nope"}, exitUsage},
		{"bad database", []string{"--clients", "1", "--duration", "100ms", "--database", "mysql://x"}, exitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.Equal(t, tc.want, runSoak(t.Context(), tc.args, &stdout, &stderr), "stderr: %s", &stderr)
			require.NotEmpty(t, stderr.String())
		})
	}
	t.Run("json", func(t *testing.T) {
		if testing.Short() {
			t.Skip("runs the bridge; skipped with -short")
		}
		var stdout, stderr bytes.Buffer
		args := []string{"--clients", "2", "--duration", "500ms", "--users-per-client", "2", "--output", "json",
			"--database", "sqlite:" + filepath.Join(t.TempDir(), "soak.db")}
		require.Equal(t, exitOK, runSoak(t.Context(), args, &stdout, &stderr), "stderr: %s", &stderr)
		var rep soakReport
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep))
		require.Positive(t, rep.Requests)
		require.Equal(t, "sqlite", rep.Store)
		require.Zero(t, rep.ServerErrors)
	})
}
