package reconcile

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// pruneAll deletes every settled intent, as retention eventually does.
func pruneAll(t *testing.T, st store.Store) {
	t.Helper()
	for {
		var n int
		require.NoError(t, st.Update(t.Context(), func(tx store.Tx) error {
			var err error
			n, err = tx.PruneIntents(t.Context(), store.PruneFilter{
				States: []store.IntentState{store.IntentDone, store.IntentSuperseded, store.IntentDead},
				Before: time.Now().Add(100 * 365 * 24 * time.Hour), MaxSeq: math.MaxInt64, Limit: 1000,
			})
			return err
		}))
		if n == 0 {
			return
		}
	}
}

// A deleted user is still known as deleted after every intent that told so
// was pruned: its email reappearing in BigCommerce is deleted_present (and
// removed again), not an unmanaged user.
func TestRunnerRemembersDeletedUsersAfterPruning(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		r := newRig(t, st, rigOpts{})
		setUpDrift(t, r)
		pruneAll(t, st)
		require.Empty(t, r.intents(), "the outbox history is gone")

		run := r.runner(Policy{Unmanaged: UnmanagedReport, Protected: []string{"Owner@Example.com"}, MaxRemovals: 10})
		res, err := run.RunOnce(t.Context(), true)
		require.NoError(t, err)
		require.Equal(t, wantDrift, items(res.Plan))
		res, err = run.RunOnce(t.Context(), false)
		require.NoError(t, err)
		require.Equal(t, wantDrift, items(res.Plan))
		r.drain()
		require.NotContains(t, r.bc(), "erin@example.com")
	})
}

// noHistory is a store whose transactions refuse to list the whole outbox.
type noHistory struct{ store.Store }

type noHistoryTx struct{ store.Tx }

var errWholeOutbox = errors.New("listed the whole outbox")

func (s noHistory) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(noHistoryTx{tx}) })
}

func (s noHistory) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(noHistoryTx{tx}) })
}

func (t noHistoryTx) ListIntents(ctx context.Context, f store.IntentFilter) ([]store.Intent, error) {
	if len(f.States) == 0 && f.AfterSeq == 0 && f.UserID == "" {
		return nil, errWholeOutbox
	}
	return t.Tx.ListIntents(ctx, f)
}

// A run reads the pending intents and those appended after its mark, never
// the settled history: its cost does not grow with the age of the outbox.
func TestRunnerReadsNoSettledHistory(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		r := newRig(t, st, rigOpts{})
		setUpDrift(t, r)
		run, err := New(Options{Store: noHistory{st}, Service: r.svc, Client: r.client, Logger: r.log,
			Policy:  Policy{Unmanaged: UnmanagedReport, Protected: []string{"Owner@Example.com"}, MaxRemovals: 10},
			Metrics: NewMetrics(nil), Now: r.clock.Now})
		require.NoError(t, err)
		for _, dry := range []bool{true, false} {
			res, err := run.RunOnce(t.Context(), dry)
			require.NoError(t, err)
			require.Equal(t, wantDrift, items(res.Plan))
		}
	})
}

// While a run reads BigCommerce, the intents after its mark are protected
// from pruning; before and after, nothing is.
func TestRunnerPruneFloor(t *testing.T) {
	r := newRig(t, newSQLite(t), rigOpts{})
	r.user("ann@example.com", true)
	r.drain()
	last := r.intents(store.IntentDone)
	require.NotEmpty(t, last)
	run := r.runner(Policy{Unmanaged: UnmanagedReport})
	require.Equal(t, int64(math.MaxInt64), run.PruneFloor())
	var during int64
	run.o.OnEstimate = func(Estimate) { during = run.PruneFloor() }
	_, err := run.RunOnce(t.Context(), false)
	require.NoError(t, err)
	require.Equal(t, last[len(last)-1].Seq, during)
	require.Equal(t, int64(math.MaxInt64), run.PruneFloor())
}
