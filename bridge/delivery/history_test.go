package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

type historyEntry struct {
	email   string
	hash    string
	change  store.IntentKind
	outcome string
	cause   string
}

func (r *rig) history() []historyEntry {
	r.t.Helper()
	var out []historyEntry
	require.NoError(r.t, r.store.View(r.t.Context(), func(tx store.Tx) error {
		rows, err := tx.ListHistory(r.t.Context(), store.HistoryFilter{})
		for _, c := range rows {
			out = append(out, historyEntry{c.Email, c.StoreHash, c.Change, c.Outcome, c.Cause})
		}
		return err
	}))
	return out
}

// TestAccessHistoryRecordsDeliveryOutcomes: each confirmed operation is one
// entry (applied, or already when BigCommerce had it), with the SCIM request
// kind as its cause and BigCommerce's answer time; a refusal that shows the
// bridge was wrong about access is recorded as observed; a dead letter is
// recorded as dead. On both backends.
func TestAccessHistoryRecordsDeliveryOutcomes(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			r := newRig(t, b.New(t), rigOpts{})
			// No listing yet: the bridge does not know bob@example.com is in
			// the account, so adding him is answered "already".
			bob := r.user("bob@example.com", true)
			ann := r.user("ann@corp.example", true)
			r.group("Plant Market", ann)
			r.drain(time.Hour)
			require.ElementsMatch(t, []historyEntry{
				{"bob@example.com", "", store.AccountAdd, store.HistoryAlready, "user.create"},
				{"ann@corp.example", "", store.AccountAdd, store.HistoryApplied, "user.create"},
				{"ann@corp.example", "abc123", store.StoreAdd, store.HistoryApplied, "catalog.update"}, // the store catalog was learned after the group
			}, r.history())

			var at time.Time
			asked := r.clock.Now()
			r.setActive(ann, false)
			r.drain(time.Hour)
			require.NoError(t, r.store.View(t.Context(), func(tx store.Tx) error {
				rows, err := tx.ListHistory(t.Context(), store.HistoryFilter{Email: "ann@corp.example"})
				last := rows[len(rows)-1]
				require.Equal(t, store.AccountRemove, last.Change)
				require.Equal(t, "user.deactivate", last.Cause)
				require.Equal(t, store.SourceSCIM, last.Source)
				require.Equal(t, asked.Truncate(time.Second), last.RequestedAt)
				require.False(t, last.At.Before(last.RequestedAt))
				at = last.At
				return err
			}))
			require.False(t, at.IsZero())

			// The owner cannot be removed: a dead letter, access unchanged.
			owner := r.user("owner@example.com", true)
			r.drain(time.Hour)
			r.setActive(owner, false)
			r.drain(time.Hour)
			h := r.history()
			require.Equal(t, historyEntry{"owner@example.com", "", store.AccountRemove, store.HistoryDead, "user.deactivate"}, h[len(h)-1])
			_ = bob
		})
	}
}
