package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/retention"
)

// tinyLonglife is a scaled-down year: 300 people, 40 days, 10-day intent
// retention and 15-day audit retention.
func tinyLonglife(storeName string) longlifeOptions {
	return longlifeOptions{Store: storeName, DSN: os.Getenv("SCIM_BRIDGE_TEST_POSTGRES_DSN"), People: 300, Groups: 4, Days: 40,
		Joiners: 3, Leavers: 3, Movers: 40, DeleteAfter: 5, IntentRetention: 10 * 24 * time.Hour, AuditRetention: 15 * 24 * time.Hour, Seed: 2}
}

// checkLonglife asserts what pruning promises: after a retention period the
// outbox and the audit trail stop growing, nothing pending is left, deleted
// users are remembered, and reconciliation finds no drift.
func checkLonglife(t *testing.T, rep *longlifeReport) {
	t.Helper()
	require.Len(t, rep.Samples, 3)
	seeded, start, end := rep.Samples[0], rep.Samples[1], rep.Samples[2]
	require.Equal(t, 0, seeded.Day)
	require.Equal(t, 11, start.Day, "start: the first day after a retention period")
	require.Equal(t, 40, end.Day)
	o := rep.Options
	perDay := o.Joiners*2 + o.Leavers + o.Movers*2
	require.GreaterOrEqual(t, rep.IntentsWritten, int64(o.People*2+o.Days*perDay*9/10), "a year of traffic went through")
	// Only the last retention period (plus a day) of intents stays.
	require.LessOrEqual(t, end.Intents, 12*perDay)
	require.LessOrEqual(t, float64(end.Intents), 1.5*float64(start.Intents))
	require.Less(t, int64(end.Intents), rep.IntentsWritten/2)
	require.Zero(t, end.Pending)
	require.LessOrEqual(t, float64(end.Audit), 1.5*float64(start.Audit))
	require.Positive(t, rep.Pruned[retention.KindDone])
	require.Positive(t, rep.Pruned[retention.KindAudit])
	// Users: the company plus the leavers not deleted yet.
	require.Equal(t, o.People+o.Leavers*o.DeleteAfter, end.Users)
	// Every leaver's identity is remembered, deleted or not.
	require.Equal(t, o.Leavers*o.Days, end.RemovedIdentities)
	require.Zero(t, end.ReconcileDrift)
	require.Zero(t, start.ReconcileDrift)
	for _, s := range []longlifeSample{start, end} {
		require.Positive(t, s.Step)
		require.Positive(t, s.IdleStep)
		require.Positive(t, s.Reconcile)
		require.Positive(t, s.DBBytes)
	}
	require.Less(t, float64(end.DBBytes), 1.5*float64(start.DBBytes))
}

func TestLonglifeSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scaled-down long-life benchmark; skipped with -short")
	}
	rep, err := longlife(t.Context(), tinyLonglife("sqlite"), nil)
	require.NoError(t, err)
	checkLonglife(t, rep)

	var out bytes.Buffer
	printLonglife(&out, rep)
	m := regexp.MustCompile(`(?m)^  40 +[0-9.]+ +[0-9.]+ +(\d+) +0 +(\d+) `).FindStringSubmatch(out.String())
	require.NotNil(t, m, "the end row: %s", out.String())
	require.Equal(t, strconv.Itoa(rep.Samples[2].Intents), m[1])
	require.Equal(t, strconv.Itoa(rep.Samples[2].Audit), m[2])
	require.Contains(t, out.String(), "end/start (target <= 1.5): db ")
}

func TestLonglifePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scaled-down long-life benchmark; skipped with -short")
	}
	o := tinyLonglife("postgres")
	if o.DSN == "" {
		t.Skip("PostgreSQL long-life benchmark skipped: set SCIM_BRIDGE_TEST_POSTGRES_DSN to a PostgreSQL URL (for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	rep, err := longlife(t.Context(), o, nil)
	require.NoError(t, err)
	checkLonglife(t, rep)
}

func TestLonglifeFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, exitUsage, run([]string{"longlife", "--store", "mysql"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), `unknown --store "mysql"`)
	stderr.Reset()
	require.Equal(t, exitUsage, run([]string{"longlife", "--joiners", "5", "--leavers", "6"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "--joiners = --leavers")
}
