package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/config"
)

// TestBenchSmall runs a scaled-down delivery benchmark in both modes and checks
// the targets that do not depend on scale: every leaver loses access
// within 60 s, every remaining joiner is delivered, nothing is rate-limited.
func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the delivery benchmark on a small scale; skipped with -short")
	}
	def := config.Default().Delivery
	for _, maxMutations := range []int{0, 1} {
		o := benchOptions{Joiners: 120, Earlier: 6, Leavers: 12, Arrival: 2 * time.Minute, MaxBatch: 50, MaxMutations: maxMutations,
			Reserve: def.Reserve, RemovalLinger: def.RemovalLinger, AdditionLinger: def.AdditionLinger, Seed: 3}
		rep, err := benchDelivery(t.Context(), o, zap.NewNop(), nil)
		require.NoError(t, err)
		require.Equal(t, o.Earlier+o.Leavers, rep.LeaversRemoved+rep.LeaversCancelled)
		require.Less(t, rep.LeaverMax, time.Minute, "every leaver within 60 s (max-mutations %d)", maxMutations)
		require.Zero(t, rep.RateLimited)
		if maxMutations == 0 {
			// 240 joiner operations fit in 5 full batches; allow the partial ones.
			require.LessOrEqual(t, rep.JoinerRequests, 8)
			require.Less(t, rep.AllAppliedAfter, time.Hour)
		}
	}
}

// TestBenchDocumentedAndLone runs the documented-profile burst and the lone
// joiner scenario at a small scale: no dead letter, every leaver within 60 s,
// and on an idle budget every lone joiner reaches BigCommerce at once.
func TestBenchDocumentedAndLone(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the delivery benchmark on a small scale; skipped with -short")
	}
	def := config.Default().Delivery
	o := benchOptions{Scenario: "burst", Profile: "documented", Joiners: 30, Earlier: 4, Leavers: 6, Arrival: time.Minute, MaxBatch: 50,
		Reserve: def.Reserve, RemovalLinger: def.RemovalLinger, AdditionLinger: def.AdditionLinger, Seed: 2}
	rep, err := benchDelivery(t.Context(), o, zap.NewNop(), nil)
	require.NoError(t, err)
	require.Zero(t, rep.DeadLetters, "a refused document shape never dead-letters its operations")
	require.Less(t, rep.LeaverMax, time.Minute)
	require.Equal(t, "single", rep.BatchMode)

	o = benchOptions{Scenario: "lone", Joiners: 4, Arrival: 10 * time.Minute, MaxBatch: 50,
		Reserve: def.Reserve, RemovalLinger: def.RemovalLinger, AdditionLinger: def.AdditionLinger, Seed: 1}
	rep, err = benchDelivery(t.Context(), o, zap.NewNop(), nil)
	require.NoError(t, err)
	require.Len(t, rep.JoinerLatencies, 4)
	require.Less(t, rep.JoinerMax, 5*time.Second)
	require.Less(t, rep.StoreMax, 5*time.Second)
}
