package history

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

var t0 = time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)

func entry(seq int64, min int, email string, kind store.IntentKind, hash, outcome string) store.AccessChange {
	return store.AccessChange{Seq: seq, At: t0.Add(time.Duration(min) * time.Minute), Email: email, StoreHash: hash,
		Change: kind, Outcome: outcome, Source: store.SourceSCIM, RequestID: fmt.Sprintf("req-%d", seq),
		RequestedAt: t0.Add(time.Duration(min-1) * time.Minute)}
}

func TestAsOfReplaysAccess(t *testing.T) {
	entries := []store.AccessChange{
		entry(1, 0, "a@x.io", store.AccountAdd, "", store.HistoryApplied),
		entry(2, 1, "a@x.io", store.StoreAdd, "s1", store.HistoryApplied),
		entry(3, 2, "b@x.io", store.AccountAdd, "", store.HistoryObserved),
		entry(3, 2, "b@x.io", store.StoreAdd, "s1", store.HistoryObserved),
		entry(4, 3, "a@x.io", store.StoreAdd, "s2", store.HistoryAlready),
		entry(5, 4, "b@x.io", store.AccountRemove, "", store.HistoryDead),
		entry(6, 5, "a@x.io", store.StoreRemove, "s1", store.HistoryApplied),
		entry(7, 6, "a@x.io", store.AccountRemove, "", store.HistoryApplied),
		entry(8, 7, "a@x.io", store.AccountAdd, "", store.HistoryApplied),
	}
	at := func(min int) map[string][]string {
		return AsOf(entries, t0.Add(time.Duration(min)*time.Minute)).ByStore()
	}
	require.Empty(t, AsOf(entries, t0.Add(-time.Minute)))
	require.Equal(t, map[string][]string{}, at(0), "in the account, no store yet")
	require.Equal(t, map[string][]string{"s1": {"a@x.io", "b@x.io"}}, at(2))
	require.Equal(t, map[string][]string{"s1": {"a@x.io", "b@x.io"}, "s2": {"a@x.io"}}, at(4),
		"a dead-lettered removal did not take b's access")
	require.Equal(t, map[string][]string{"s1": {"b@x.io"}, "s2": {"a@x.io"}}, at(5))
	require.Equal(t, map[string][]string{"s1": {"b@x.io"}}, at(6), "an account removal takes every store")
	st := AsOf(entries, t0.Add(7*time.Minute))
	require.Equal(t, Access{InAccount: true}, st["a@x.io"], "rejoining does not bring old stores back")
}

func TestGrantsAndRemovals(t *testing.T) {
	entries := []store.AccessChange{
		entry(0, 0, "a@x.io", store.AccountAdd, "", store.HistoryApplied),
		entry(1, 0, "a@x.io", store.StoreAdd, "s1", store.HistoryApplied),
		entry(2, 5, "a@x.io", store.StoreAdd, "s1", store.HistoryAlready),
		entry(3, 6, "a@x.io", store.StoreAdd, "s2", store.HistoryApplied),
		entry(4, 7, "a@x.io", store.StoreRemove, "s2", store.HistoryApplied),
		entry(5, 9, "a@x.io", store.StoreAdd, "s2", store.HistoryApplied),
		entry(6, 10, "b@x.io", store.AccountAdd, "", store.HistoryApplied),
		entry(6, 10, "b@x.io", store.StoreAdd, "s1", store.HistoryApplied),
		entry(7, 30, "b@x.io", store.AccountRemove, "", store.HistoryApplied),
		entry(8, 40, "c@x.io", store.AccountRemove, "", store.HistoryDead),
	}
	entries[8].RequestedAt = t0.Add(12 * time.Minute)
	g := Grants(entries)
	require.Equal(t, t0, g["a@x.io"]["s1"].At, "an addition already in effect does not restart the grant")
	require.Equal(t, "req-1", g["a@x.io"]["s1"].RequestID)
	require.Equal(t, "req-5", g["a@x.io"]["s2"].RequestID, "access regained after a removal starts anew")
	require.Empty(t, g["b@x.io"], "a leaver has no grant left")

	r := Removals(entries)
	require.Len(t, r, 3)
	require.Equal(t, time.Minute, r[0].Latency)
	require.Equal(t, 18*time.Minute, r[1].Latency)
	require.True(t, r[1].Confirmed)
	require.False(t, r[2].Confirmed, "a dead-lettered removal is evidence the person kept access")
	require.Zero(t, r[2].Latency)
}

// TestPruneKeepsEveryAnswerAfterTheCutoff: on random histories in a real
// store, pruning before a cutoff leaves AsOf and Grants for every moment
// after it unchanged, and deletes everything of people who left before it.
func TestPruneKeepsEveryAnswerAfterTheCutoff(t *testing.T) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []store.IntentKind{store.AccountAdd, store.AccountRemove, store.StoreAdd, store.StoreAdd, store.StoreRemove}
	outcomes := []string{store.HistoryApplied, store.HistoryApplied, store.HistoryAlready, store.HistoryObserved, store.HistoryDead}
	for round := range 4 {
		st := storetest.NewSQLite(t)
		var entries []store.AccessChange
		for i := range 3000 {
			email := fmt.Sprintf("p%d@x.io", rng.IntN(60))
			kind := kinds[rng.IntN(len(kinds))]
			hash := ""
			if kind == store.StoreAdd || kind == store.StoreRemove {
				hash = fmt.Sprintf("s%d", rng.IntN(4))
			}
			entries = append(entries, entry(0, i, email, kind, hash, outcomes[rng.IntN(len(outcomes))]))
		}
		// Someone who left long ago.
		entries = append([]store.AccessChange{
			entry(0, -21, "gone@x.io", store.AccountAdd, "", store.HistoryApplied),
			entry(0, -20, "gone@x.io", store.StoreAdd, "s1", store.HistoryApplied),
			entry(0, -10, "gone@x.io", store.AccountRemove, "", store.HistoryApplied),
		}, entries...)
		require.NoError(t, st.Update(ctx, func(tx store.Tx) error { return tx.AppendHistory(ctx, entries) }))
		all, err := Load(ctx, st, store.HistoryFilter{})
		require.NoError(t, err)
		require.Len(t, all, len(entries))

		cutoff := t0.Add(time.Duration(1000+round*500) * time.Minute)
		n, err := Prune(ctx, st, cutoff)
		require.NoError(t, err)
		require.Positive(t, n)
		kept, err := Load(ctx, st, store.HistoryFilter{})
		require.NoError(t, err)
		require.Len(t, kept, len(all)-n)
		for _, c := range kept {
			require.NotEqual(t, "gone@x.io", c.Email)
		}
		for m := 1000 + round*500; m <= 3000; m += 97 {
			at := t0.Add(time.Duration(m) * time.Minute)
			require.Equal(t, AsOf(all, at), AsOf(kept, at), "as of minute %d", m)
		}
		require.Equal(t, Grants(all), Grants(kept))
		again, err := Prune(ctx, st, cutoff)
		require.NoError(t, err)
		require.Zero(t, again, "pruning twice deletes nothing more")
	}
}
