package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

func appendIntents(t testing.TB, s store.Store, intents ...store.Intent) []int64 {
	t.Helper()
	var seqs []int64
	update(t, s, func(tx store.Tx) error {
		var err error
		seqs, err = tx.AppendIntents(t.Context(), intents)
		return err
	})
	return seqs
}

func listIntents(t testing.TB, s store.Store, f store.IntentFilter) []store.Intent {
	t.Helper()
	var intents []store.Intent
	view(t, s, func(tx store.Tx) error {
		var err error
		intents, err = tx.ListIntents(t.Context(), f)
		return err
	})
	return intents
}

func intentSeqs(intents []store.Intent) []int64 {
	seqs := []int64{}
	for _, in := range intents {
		seqs = append(seqs, in.Seq)
	}
	return seqs
}

func requireIncreasing(t *testing.T, seqs []int64) {
	t.Helper()
	for i := 1; i < len(seqs); i++ {
		require.Greater(t, seqs[i], seqs[i-1], "sequence numbers must increase: %v", seqs)
	}
}

func testIntents(t *testing.T, s store.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC-03", -3*3600)
	created := time.Date(2024, 6, 1, 8, 0, 0, 123456789, zone)
	full := store.Intent{
		Kind:          store.StoreAdd,
		Email:         "one@example.com",
		StoreHash:     "abc123",
		UserID:        "user-1",
		Source:        store.SourceSCIM,
		RequestID:     "req-1",
		CreatedAt:     created,
		State:         store.IntentPending,
		Attempts:      2,
		NextAttemptAt: created.Add(time.Minute),
		LastError:     "rate limited",
		DoneAt:        time.Time{},
	}
	defaults := store.Intent{Kind: store.AccountRemove, Email: "gone@example.com", Source: store.SourceReconcile}

	before := time.Now().Add(-time.Minute)
	seqs := appendIntents(t, s, full, defaults)
	require.Len(t, seqs, 2)
	requireIncreasing(t, seqs)
	more := appendIntents(t, s, store.Intent{Kind: store.AccountAdd, Email: "two@example.com"})
	require.Len(t, more, 1)
	require.Greater(t, more[0], seqs[1])
	require.Empty(t, appendIntents(t, s))

	got := listIntents(t, s, store.IntentFilter{})
	require.Equal(t, append(seqs, more...), intentSeqs(got))
	requireIncreasing(t, intentSeqs(got))

	want := full
	want.Seq = seqs[0]
	want.CreatedAt = store.Truncate(created)
	want.NextAttemptAt = store.Truncate(full.NextAttemptAt)
	require.Equal(t, want, got[0])
	requireUTCMicros(t, got[0].CreatedAt)

	// Defaults: an empty State is pending, a zero CreatedAt is the current time.
	require.Equal(t, store.IntentPending, got[1].State)
	require.WithinRange(t, got[1].CreatedAt, before, time.Now().Add(time.Minute))
	requireUTCMicros(t, got[1].CreatedAt)
	got[1].CreatedAt = time.Time{}
	wantDefaults := defaults
	wantDefaults.Seq = seqs[1]
	wantDefaults.State = store.IntentPending
	require.Equal(t, wantDefaults, got[1])

	// UpdateIntent changes only the delivery fields.
	done := time.Date(2024, 6, 1, 9, 0, 0, 999, time.UTC)
	changed := want
	changed.Kind, changed.Email, changed.StoreHash, changed.UserID = store.AccountRemove, "x@example.com", "zzz", "user-9"
	changed.Source, changed.RequestID, changed.CreatedAt = store.SourceOperator, "req-9", t0
	changed.State, changed.Attempts, changed.NextAttemptAt = store.IntentDone, 3, time.Time{}
	changed.LastError, changed.DoneAt = "", done
	update(t, s, func(tx store.Tx) error { return tx.UpdateIntent(ctx, changed, store.IntentPending) })
	got = listIntents(t, s, store.IntentFilter{Limit: 1})
	want.State, want.Attempts, want.NextAttemptAt, want.LastError, want.DoneAt = store.IntentDone, 3, time.Time{}, "", store.Truncate(done)
	require.Equal(t, []store.Intent{want}, got)

	require.ErrorIs(t, s.Update(ctx, func(tx store.Tx) error {
		return tx.UpdateIntent(ctx, store.Intent{Seq: more[0] + 1000, State: store.IntentDone}, store.IntentPending)
	}), store.ErrNotFound)

	// UpdateIntent is a compare-and-swap on the state: a writer that planned on
	// an older view (a replica that lost the lease) cannot overwrite the outcome
	// recorded since, and nothing changes.
	stale := changed
	stale.State, stale.Attempts, stale.LastError = store.IntentDead, 9, "stale"
	require.ErrorIs(t, s.Update(ctx, func(tx store.Tx) error {
		return tx.UpdateIntent(ctx, stale, store.IntentPending)
	}), store.ErrConflict)
	require.Equal(t, []store.Intent{want}, listIntents(t, s, store.IntentFilter{Limit: 1}))
	// The operator's retry moves a dead intent back by naming its state.
	update(t, s, func(tx store.Tx) error { return tx.UpdateIntent(ctx, stale, store.IntentDone) })
	update(t, s, func(tx store.Tx) error {
		back := stale
		back.State, back.Attempts, back.LastError = store.IntentPending, 0, ""
		return tx.UpdateIntent(ctx, back, store.IntentDead)
	})
	require.Equal(t, store.IntentPending, listIntents(t, s, store.IntentFilter{Limit: 1})[0].State)
}

func testIntentFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	mk := func(userID string, state store.IntentState) store.Intent {
		return store.Intent{Kind: store.AccountAdd, Email: userID + "@example.com", UserID: userID, State: state, CreatedAt: t0}
	}
	seqs := appendIntents(t, s,
		mk("user-1", store.IntentPending),
		mk("user-2", store.IntentPending),
		mk("user-1", store.IntentDone),
		mk("user-3", store.IntentDead),
		mk("user-1", store.IntentSuperseded),
		mk("", store.IntentPending),
	)
	cases := []struct {
		name string
		f    store.IntentFilter
		want []int64
	}{
		{"all", store.IntentFilter{}, seqs},
		{"pending", store.IntentFilter{States: []store.IntentState{store.IntentPending}}, []int64{seqs[0], seqs[1], seqs[5]}},
		{"pending or dead", store.IntentFilter{States: []store.IntentState{store.IntentDead, store.IntentPending}}, []int64{seqs[0], seqs[1], seqs[3], seqs[5]}},
		{"user", store.IntentFilter{UserID: "user-1"}, []int64{seqs[0], seqs[2], seqs[4]}},
		{"user and state", store.IntentFilter{UserID: "user-1", States: []store.IntentState{store.IntentDone, store.IntentSuperseded}}, []int64{seqs[2], seqs[4]}},
		{"after", store.IntentFilter{AfterSeq: seqs[2]}, seqs[3:]},
		{"after last", store.IntentFilter{AfterSeq: seqs[5]}, []int64{}},
		{"limit", store.IntentFilter{Limit: 2}, seqs[:2]},
		{"after and limit", store.IntentFilter{AfterSeq: seqs[0], Limit: 2}, seqs[1:3]},
		{"pending limit", store.IntentFilter{States: []store.IntentState{store.IntentPending}, Limit: 2}, []int64{seqs[0], seqs[1]}},
		{"no match", store.IntentFilter{UserID: "user-9"}, []int64{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := listIntents(t, s, tc.f)
			require.NotNil(t, got)
			require.Equal(t, tc.want, intentSeqs(got))
		})
	}
	counts := []struct {
		states []store.IntentState
		want   int
	}{
		{nil, 6},
		{[]store.IntentState{store.IntentPending}, 3},
		{[]store.IntentState{store.IntentDead, store.IntentPending}, 4},
		{[]store.IntentState{store.IntentDone, store.IntentSuperseded}, 2},
	}
	for _, c := range counts {
		view(t, s, func(tx store.Tx) error {
			n, err := tx.CountIntents(ctx, c.states...)
			require.Equal(t, c.want, n, "states %v", c.states)
			return err
		})
	}
	// Marking intents done removes them from a pending scan.
	update(t, s, func(tx store.Tx) error {
		pending, err := tx.ListIntents(ctx, store.IntentFilter{States: []store.IntentState{store.IntentPending}})
		if err != nil {
			return err
		}
		for _, in := range pending {
			in.State = store.IntentDone
			in.DoneAt = t0
			if err := tx.UpdateIntent(ctx, in, store.IntentPending); err != nil {
				return err
			}
		}
		return nil
	})
	require.Empty(t, listIntents(t, s, store.IntentFilter{States: []store.IntentState{store.IntentPending}}))
	require.Len(t, listIntents(t, s, store.IntentFilter{States: []store.IntentState{store.IntentDone}}), 4)
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	events := []store.AuditEvent{
		{Time: time.Date(2024, 1, 1, 0, 0, 0, 1500, time.FixedZone("X", 3600)), Actor: "scim:ab12", Action: "user.create", ResourceType: "User", ResourceID: "user-1", RequestID: "req-1", Detail: "version 1"},
		{Time: t0, Actor: "delivery", Action: "intent.done", ResourceType: "Intent", ResourceID: "7", Detail: "batch of 3"},
		{Time: t0.Add(-time.Hour), Actor: "operator", Action: "intent.retry"}, // older time, appended later
		{Actor: "reconcile", Action: "run.finish"},
	}
	before := time.Now().Add(-time.Minute)
	update(t, s, func(tx store.Tx) error {
		for _, e := range events[:2] {
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		for _, e := range events[2:] {
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})

	var got []store.AuditEvent
	view(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.ListAudit(ctx, 10)
		return err
	})
	require.Len(t, got, 4)
	// Newest (last appended) first.
	require.Equal(t, []string{"run.finish", "intent.retry", "intent.done", "user.create"},
		[]string{got[0].Action, got[1].Action, got[2].Action, got[3].Action})
	want0 := events[0]
	want0.Time = store.Truncate(want0.Time)
	require.Equal(t, want0, got[3])
	require.Equal(t, events[1], got[2])
	// A zero Time is the current time.
	require.WithinRange(t, got[0].Time, before, time.Now().Add(time.Minute))
	requireUTCMicros(t, got[0].Time)

	view(t, s, func(tx store.Tx) error {
		top, err := tx.ListAudit(ctx, 2)
		require.NoError(t, err)
		require.Equal(t, got[:2], top)
		none, err := tx.ListAudit(ctx, 0)
		require.NoError(t, err)
		require.Empty(t, none)
		all, err := tx.ListAudit(ctx, -1)
		require.NoError(t, err)
		require.Equal(t, got, all)
		return nil
	})
}

func testState(t *testing.T, s store.Store) {
	ctx := t.Context()
	get := func(key string) ([]byte, error) {
		var v []byte
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			v, err = tx.GetState(ctx, key)
			return err
		})
		return v, err
	}
	_, err := get("budget")
	require.ErrorIs(t, err, store.ErrNotFound)

	update(t, s, func(tx store.Tx) error { return tx.PutState(ctx, "budget", []byte(`{"tokens":70}`)) })
	v, err := get("budget")
	require.NoError(t, err)
	require.Equal(t, []byte(`{"tokens":70}`), v)

	binary := []byte{0, 1, 2, 0xff, 0xfe, 0, 'x'}
	update(t, s, func(tx store.Tx) error { return tx.PutState(ctx, "budget", binary) })
	v, err = get("budget")
	require.NoError(t, err)
	require.Equal(t, binary, v)

	// Empty values exist (they are not "not found").
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutState(ctx, "empty", []byte{}); err != nil {
			return err
		}
		return tx.PutState(ctx, "nil", nil)
	})
	for _, key := range []string{"empty", "nil"} {
		v, err = get(key)
		require.NoError(t, err)
		require.Empty(t, v)
	}
	// Keys are independent and case-sensitive.
	_, err = get("Budget")
	require.ErrorIs(t, err, store.ErrNotFound)
}
