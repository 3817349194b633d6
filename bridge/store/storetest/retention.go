package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// RunRetention runs the retention suite: outbox stamps, the removed
// identities recorded with account removals, and pruning of settled intents
// and old audit events.
func RunRetention(t *testing.T, newStore func(t *testing.T) store.Store) {
	runAll(t, newStore, []subtest{
		{"OutboxStamp", testOutboxStamp},
		{"RemovedIdentities", testRemovedIdentities},
		{"PruneIntents", testPruneIntents},
		{"PruneAudit", testPruneAudit},
	})
}

// errRollback makes an Update roll back in the retention tests.
var errRollback = errors.New("roll back")

func stamp(t *testing.T, s store.Store) store.OutboxStamp {
	t.Helper()
	var st store.OutboxStamp
	view(t, s, func(tx store.Tx) error {
		var err error
		st, err = tx.OutboxStamp(t.Context())
		return err
	})
	return st
}

func testOutboxStamp(t *testing.T, s store.Store) {
	ctx := t.Context()
	require.Equal(t, store.OutboxStamp{}, stamp(t, s))

	seqs := appendIntents(t, s,
		store.Intent{Kind: store.AccountAdd, Email: "a@x.io", Source: store.SourceSCIM, CreatedAt: t0},
		store.Intent{Kind: store.AccountAdd, Email: "b@x.io", Source: store.SourceSCIM, CreatedAt: t0},
		store.Intent{Kind: store.AccountAdd, Email: "c@x.io", Source: store.SourceSCIM, CreatedAt: t0})
	st := stamp(t, s)
	require.Equal(t, store.OutboxStamp{MaxSeq: seqs[2], Pending: 3}, st)

	// Settling, dead-lettering and retrying each change the stamp.
	update(t, s, func(tx store.Tx) error {
		return tx.UpdateIntent(ctx, store.Intent{Seq: seqs[0], State: store.IntentDone, DoneAt: t0}, store.IntentPending)
	})
	require.Equal(t, store.OutboxStamp{MaxSeq: seqs[2], Pending: 2}, stamp(t, s))
	update(t, s, func(tx store.Tx) error {
		return tx.UpdateIntent(ctx, store.Intent{Seq: seqs[1], State: store.IntentDead, DoneAt: t0}, store.IntentPending)
	})
	require.Equal(t, store.OutboxStamp{MaxSeq: seqs[2], Pending: 1, Dead: 1}, stamp(t, s))
	update(t, s, func(tx store.Tx) error {
		return tx.UpdateIntent(ctx, store.Intent{Seq: seqs[1], State: store.IntentPending}, store.IntentDead)
	})
	require.Equal(t, store.OutboxStamp{MaxSeq: seqs[2], Pending: 2}, stamp(t, s))

	// Known-state writes change it too, by count and by time.
	update(t, s, func(tx store.Tx) error {
		return tx.PutBCUser(ctx, store.BCUser{Email: "a@x.io", InAccount: true, UpdatedAt: t0})
	})
	require.Equal(t, store.OutboxStamp{MaxSeq: seqs[2], Pending: 2, Known: 1, KnownAt: t0}, stamp(t, s))
	update(t, s, func(tx store.Tx) error {
		return tx.PutBCUser(ctx, store.BCUser{Email: "a@x.io", UpdatedAt: t0.Add(time.Minute)})
	})
	require.Equal(t, t0.Add(time.Minute), stamp(t, s).KnownAt)

	var err error
	view(t, s, func(tx store.Tx) error {
		_, err = tx.OutboxStamp(ctx)
		return nil
	})
	require.NoError(t, err, "a stamp is a read")
}

func testRemovedIdentities(t *testing.T, s store.Store) {
	ctx := t.Context()
	appendIntents(t, s,
		store.Intent{Kind: store.AccountRemove, Email: "old@x.io", UserID: "u2", Source: store.SourceSCIM},
		store.Intent{Kind: store.AccountRemove, Email: "b@x.io", UserID: "u1", Source: store.SourceSCIM},
		// The same pair again is recorded once.
		store.Intent{Kind: store.AccountRemove, Email: "b@x.io", UserID: "u1", Source: store.SourceSCIM},
		store.Intent{Kind: store.AccountRemove, Email: "new@x.io", UserID: "u2", Source: store.SourceSCIM},
		// Not recorded: other sources, other kinds, no SCIM user.
		store.Intent{Kind: store.AccountRemove, Email: "r@x.io", UserID: "u3", Source: store.SourceReconcile},
		store.Intent{Kind: store.AccountRemove, Email: "o@x.io", UserID: "u4", Source: store.SourceOperator},
		store.Intent{Kind: store.AccountAdd, Email: "add@x.io", UserID: "u5", Source: store.SourceSCIM},
		store.Intent{Kind: store.StoreRemove, Email: "st@x.io", StoreHash: "abc", UserID: "u6", Source: store.SourceSCIM},
		store.Intent{Kind: store.AccountRemove, Email: "unmanaged@x.io", Source: store.SourceSCIM})

	// A rolled-back append records nothing.
	err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.AppendIntents(ctx, []store.Intent{{Kind: store.AccountRemove, Email: "gone@x.io", UserID: "u9", Source: store.SourceSCIM}}); err != nil {
			return err
		}
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)

	want := []store.RemovedIdentity{{UserID: "u1", Email: "b@x.io"}, {UserID: "u2", Email: "new@x.io"}, {UserID: "u2", Email: "old@x.io"}}
	list := func() []store.RemovedIdentity {
		var got []store.RemovedIdentity
		view(t, s, func(tx store.Tx) error {
			var err error
			got, err = tx.ListRemovedIdentities(ctx)
			return err
		})
		return got
	}
	require.Equal(t, want, list())

	// Pruning the intents keeps the record.
	all := listIntents(t, s, store.IntentFilter{})
	update(t, s, func(tx store.Tx) error {
		for _, in := range all {
			in.State, in.DoneAt = store.IntentDone, t0
			if err := tx.UpdateIntent(ctx, in, store.IntentPending); err != nil {
				return err
			}
		}
		n, err := tx.PruneIntents(ctx, store.PruneFilter{States: []store.IntentState{store.IntentDone}, Before: t0.Add(time.Hour), MaxSeq: all[len(all)-1].Seq, Limit: 100})
		require.Equal(t, len(all), n)
		return err
	})
	require.Empty(t, listIntents(t, s, store.IntentFilter{}))
	require.Equal(t, want, list())
}

func testPruneIntents(t *testing.T, s store.Store) {
	ctx := t.Context()
	old, recent := t0, t0.Add(48*time.Hour)
	cut := t0.Add(24 * time.Hour)
	in := func(email string) store.Intent {
		return store.Intent{Kind: store.AccountAdd, Email: email, Source: store.SourceSCIM, CreatedAt: old}
	}
	// Seven intents: pending (old), done old, superseded old, dead old, done
	// recent, done old (a later seq), done without DoneAt.
	seqs := appendIntents(t, s, in("p@x.io"), in("d1@x.io"), in("s@x.io"), in("dead@x.io"), in("d2@x.io"), in("d3@x.io"), in("nodone@x.io"))
	settle := []struct {
		i     int
		state store.IntentState
		at    time.Time
	}{{1, store.IntentDone, old}, {2, store.IntentSuperseded, old.Add(time.Second)}, {3, store.IntentDead, old}, {4, store.IntentDone, recent}, {5, store.IntentDone, old.Add(2 * time.Second)}, {6, store.IntentDone, time.Time{}}}
	update(t, s, func(tx store.Tx) error {
		for _, x := range settle {
			if err := tx.UpdateIntent(ctx, store.Intent{Seq: seqs[x.i], State: x.state, DoneAt: x.at}, store.IntentPending); err != nil {
				return err
			}
		}
		return nil
	})
	prune := func(f store.PruneFilter) int {
		var n int
		update(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.PruneIntents(ctx, f)
			return err
		})
		return n
	}
	remaining := func() []int64 { return intentSeqs(listIntents(t, s, store.IntentFilter{})) }
	settled := []store.IntentState{store.IntentDone, store.IntentSuperseded}

	// Pending states are refused, as is a non-positive limit.
	for _, f := range []store.PruneFilter{
		{States: []store.IntentState{store.IntentPending}, Before: recent, MaxSeq: seqs[6], Limit: 10},
		{States: settled, Before: recent, MaxSeq: seqs[6], Limit: 0},
	} {
		err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.PruneIntents(ctx, f); return err })
		require.Error(t, err)
	}
	require.Len(t, remaining(), 7)

	// Read-only transactions cannot prune.
	err := s.View(ctx, func(tx store.Tx) error {
		_, err := tx.PruneIntents(ctx, store.PruneFilter{States: settled, Before: cut, MaxSeq: seqs[6], Limit: 10})
		return err
	})
	require.ErrorIs(t, err, store.ErrReadOnly)

	// MaxSeq protects later intents: only d1 and s are at or below seqs[2].
	require.Equal(t, 2, prune(store.PruneFilter{States: settled, Before: cut, MaxSeq: seqs[2], Limit: 10}))
	require.Equal(t, []int64{seqs[0], seqs[3], seqs[4], seqs[5], seqs[6]}, remaining())

	// Limit bounds a batch; dead letters stay unless asked for; recent ones
	// and those without DoneAt stay.
	require.Equal(t, 1, prune(store.PruneFilter{States: settled, Before: cut, MaxSeq: seqs[6], Limit: 1}))
	require.Equal(t, 0, prune(store.PruneFilter{States: settled, Before: cut, MaxSeq: seqs[6], Limit: 10}))
	require.Equal(t, []int64{seqs[0], seqs[3], seqs[4], seqs[6]}, remaining())
	require.Equal(t, 1, prune(store.PruneFilter{States: []store.IntentState{store.IntentDead}, Before: cut, MaxSeq: seqs[6], Limit: 10}))
	require.Equal(t, []int64{seqs[0], seqs[4], seqs[6]}, remaining())

	// Even a cut-off in the future never deletes the pending intent.
	require.Equal(t, 1, prune(store.PruneFilter{States: []store.IntentState{store.IntentDone, store.IntentSuperseded, store.IntentDead}, Before: recent.Add(time.Hour), MaxSeq: seqs[6], Limit: 10}))
	require.Equal(t, []int64{seqs[0], seqs[6]}, remaining())

	// New intents keep increasing after pruning.
	next := appendIntents(t, s, in("n@x.io"))
	require.Greater(t, next[0], seqs[6])
}

func testPruneAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	update(t, s, func(tx store.Tx) error {
		for i := range 5 {
			if err := tx.AppendAudit(ctx, store.AuditEvent{Time: t0.Add(time.Duration(i) * time.Hour), Actor: "delivery", Action: "a", Detail: string(rune('0' + i))}); err != nil {
				return err
			}
		}
		return nil
	})
	prune := func(before time.Time, limit int) int {
		var n int
		update(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.PruneAudit(ctx, before, limit)
			return err
		})
		return n
	}
	details := func() []string {
		var ev []store.AuditEvent
		view(t, s, func(tx store.Tx) error {
			var err error
			ev, err = tx.ListAudit(ctx, -1)
			return err
		})
		out := []string{}
		for _, e := range ev {
			out = append(out, e.Detail)
		}
		return out
	}
	require.Equal(t, 2, prune(t0.Add(150*time.Minute), 2))
	require.Equal(t, []string{"4", "3", "2"}, details())
	require.Equal(t, 1, prune(t0.Add(150*time.Minute), 10))
	require.Equal(t, []string{"4", "3"}, details())
	require.Equal(t, 0, prune(t0, 10))
	err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.PruneAudit(ctx, t0, 0); return err })
	require.Error(t, err)
}
