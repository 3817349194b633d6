package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// testOutboxWindow checks the reads the delivery engine plans a window of
// the outbox with: the first emails of pending intents (by kind), every
// pending intent of some emails, and the pending counts per kind.
func testOutboxWindow(t *testing.T, s store.Store) {
	ctx := t.Context()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := func(kind store.IntentKind, email string) store.Intent {
		return store.Intent{Kind: kind, Email: email, StoreHash: map[bool]string{true: "abc123"}[kind == store.StoreAdd || kind == store.StoreRemove],
			Source: store.SourceSCIM, CreatedAt: at, State: store.IntentPending}
	}
	// 250 emails with an addition each (so paging crosses pages of 100), then
	// removals interleaved with more additions, some emails twice.
	var intents []store.Intent
	for i := range 250 {
		intents = append(intents, in(store.AccountAdd, fmt.Sprintf("add%03d@example.com", i)))
	}
	intents = append(intents,
		in(store.StoreRemove, "rem1@example.com"),
		in(store.AccountAdd, "add000@example.com"),
		in(store.AccountRemove, "rem2@example.com"),
		in(store.StoreRemove, "rem1@example.com"),
		in(store.AccountRemove, "add005@example.com"),
		in(store.StoreAdd, "rem2@example.com"),
	)
	seqs := appendIntents(t, s, intents...)
	// A settled intent is never part of the window.
	update(t, s, func(tx store.Tx) error {
		done := intents[1]
		done.Seq, done.State, done.DoneAt = seqs[1], store.IntentDone, at
		return tx.UpdateIntent(ctx, done, store.IntentPending)
	})

	view(t, s, func(tx store.Tx) error {
		emails, err := tx.PendingEmails(ctx, 3)
		require.NoError(t, err)
		require.Equal(t, []string{"add000@example.com", "add002@example.com", "add003@example.com"}, emails, "first emails by earliest pending intent; the settled add001 is not pending")

		emails, err = tx.PendingEmails(ctx, 1000)
		require.NoError(t, err)
		require.Len(t, emails, 249+2, "every pending email once")
		require.Equal(t, "rem1@example.com", emails[249])
		require.Equal(t, "rem2@example.com", emails[250])

		emails, err = tx.PendingEmails(ctx, 10, store.AccountRemove, store.StoreRemove)
		require.NoError(t, err)
		require.Equal(t, []string{"rem1@example.com", "rem2@example.com", "add005@example.com"}, emails, "removal emails in the order of their earliest removal")
		emails, err = tx.PendingEmails(ctx, 2, store.AccountRemove, store.StoreRemove)
		require.NoError(t, err)
		require.Equal(t, []string{"rem1@example.com", "rem2@example.com"}, emails)
		emails, err = tx.PendingEmails(ctx, 0)
		require.NoError(t, err)
		require.Empty(t, emails)

		got, err := tx.PendingIntentsOf(ctx, []string{"rem2@example.com", "add000@example.com", "add001@example.com", "nobody@example.com"})
		require.NoError(t, err)
		require.Equal(t, []int64{seqs[0], seqs[251], seqs[252], seqs[255]}, intentSeqs(got), "every pending intent of those emails, in sequence order")
		require.Equal(t, store.StoreAdd, got[3].Kind)
		require.Equal(t, "abc123", got[3].StoreHash)
		require.Equal(t, at, got[3].CreatedAt)
		got, err = tx.PendingIntentsOf(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, got)

		counts, err := tx.CountPendingByKind(ctx)
		require.NoError(t, err)
		require.Equal(t, map[store.IntentKind]int{store.AccountAdd: 250, store.StoreRemove: 2, store.AccountRemove: 2, store.StoreAdd: 1}, counts)
		return nil
	})

	// Many emails: PendingIntentsOf reads them all, whatever the backend's
	// limit on parameters per statement.
	var many []store.Intent
	var names []string
	for i := range 1200 {
		e := fmt.Sprintf("many%04d@example.com", i)
		many = append(many, in(store.AccountAdd, e))
		names = append(names, e)
	}
	appendIntents(t, s, many...)
	view(t, s, func(tx store.Tx) error {
		got, err := tx.PendingIntentsOf(ctx, names)
		require.NoError(t, err)
		require.Len(t, got, 1200)
		for i := 1; i < len(got); i++ {
			require.Less(t, got[i-1].Seq, got[i].Seq)
		}
		return nil
	})
}
