package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// testHistory: access-history entries round-trip in sequence order, filter
// by email and time, page, survive a rolled-back write only when committed,
// and are deleted by sequence number; an intent's cause round-trips.
func testHistory(t *testing.T, s store.Store) {
	ctx := t.Context()
	grant := store.AccessChange{At: t0.Add(time.Minute), Email: "a@x.io", StoreHash: "abc123", Change: store.StoreAdd,
		Outcome: store.HistoryApplied, UserID: "u1", Source: store.SourceSCIM, RequestID: "req-1", Cause: "group.update",
		RequestedAt: t0}
	joined := store.AccessChange{At: t0.Add(2 * time.Minute), Email: "b@x.io", Change: store.AccountAdd,
		Outcome: store.HistoryObserved, Source: store.SourceReconcile, RequestID: "run-1", Cause: "reconcile.listing"}
	left := store.AccessChange{At: t0.Add(3 * time.Minute), Email: "a@x.io", Change: store.AccountRemove,
		Outcome: store.HistoryDead, UserID: "u1", Source: store.SourceSCIM, RequestID: "req-2", Cause: "user.deactivate",
		RequestedAt: t0.Add(2 * time.Minute)}
	update(t, s, func(tx store.Tx) error { return tx.AppendHistory(ctx, []store.AccessChange{grant, joined}) })
	update(t, s, func(tx store.Tx) error { return tx.AppendHistory(ctx, []store.AccessChange{left}) })
	require.Error(t, s.Update(ctx, func(tx store.Tx) error {
		require.NoError(t, tx.AppendHistory(ctx, []store.AccessChange{grant}))
		return errors.New("roll back")
	}))

	list := func(f store.HistoryFilter) []store.AccessChange {
		var out []store.AccessChange
		view(t, s, func(tx store.Tx) error {
			var err error
			out, err = tx.ListHistory(ctx, f)
			return err
		})
		return out
	}
	all := list(store.HistoryFilter{})
	require.Len(t, all, 3, "the rolled-back entry is not kept")
	require.Less(t, all[0].Seq, all[1].Seq)
	require.Less(t, all[1].Seq, all[2].Seq)
	for i, want := range []store.AccessChange{grant, joined, left} {
		want.Seq = all[i].Seq
		require.Equal(t, want, all[i])
	}
	require.True(t, all[1].RequestedAt.IsZero(), "an observed change has no request time")

	require.Equal(t, []int64{all[0].Seq, all[2].Seq}, seqsOf(list(store.HistoryFilter{Email: "a@x.io"})))
	require.Equal(t, []int64{all[1].Seq, all[2].Seq}, seqsOf(list(store.HistoryFilter{Since: t0.Add(2 * time.Minute)})))
	require.Equal(t, []int64{all[0].Seq}, seqsOf(list(store.HistoryFilter{Until: t0.Add(2 * time.Minute)})),
		"Until is exclusive")
	require.Equal(t, []int64{all[1].Seq}, seqsOf(list(store.HistoryFilter{AfterSeq: all[0].Seq, Limit: 1})))
	require.Empty(t, list(store.HistoryFilter{Email: "nobody@x.io"}))

	update(t, s, func(tx store.Tx) error { return tx.DeleteHistory(ctx, []int64{all[0].Seq, all[2].Seq + 1000}) })
	require.Equal(t, []int64{all[1].Seq, all[2].Seq}, seqsOf(list(store.HistoryFilter{})))
	update(t, s, func(tx store.Tx) error { return tx.DeleteHistory(ctx, nil) })

	seqs := appendIntents(t, s, store.Intent{Kind: store.AccountRemove, Email: "a@x.io", UserID: "u1",
		Source: store.SourceSCIM, RequestID: "req-3", Cause: "user.delete", CreatedAt: t0})
	got := listIntents(t, s, store.IntentFilter{AfterSeq: seqs[0] - 1})
	require.Len(t, got, 1)
	require.Equal(t, "user.delete", got[0].Cause)

	if _, ok := s.(store.SingleWriter); !ok {
		return
	}
	// Many entries in one transaction (beyond one statement's parameters).
	many := make([]store.AccessChange, 1000)
	for i := range many {
		many[i] = grant
	}
	update(t, s, func(tx store.Tx) error { return tx.AppendHistory(ctx, many) })
	rows := list(store.HistoryFilter{Email: "a@x.io"})
	require.Len(t, rows, 1001)
	update(t, s, func(tx store.Tx) error { return tx.DeleteHistory(ctx, seqsOf(rows)) })
	require.Empty(t, list(store.HistoryFilter{Email: "a@x.io"}))
}

func seqsOf(changes []store.AccessChange) []int64 {
	seqs := []int64{}
	for _, c := range changes {
		seqs = append(seqs, c.Seq)
	}
	return seqs
}
