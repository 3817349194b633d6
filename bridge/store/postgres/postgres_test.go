package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

func newStore(t *testing.T) store.Store { return storetest.NewPostgres(t) }

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore)
}

func TestConcurrency(t *testing.T) {
	storetest.RunConcurrency(t, newStore)
}

func BenchmarkListUsersUserNameEq(b *testing.B) {
	storetest.BenchUserNameEq(b, storetest.NewPostgres(b))
}

// TestErrorsNameNoIDs: error texts never carry the ids a caller passed (they
// come from SCIM clients and end up in logs), whether the id is unknown or
// bytes the database refuses.
func TestErrorsNameNoIDs(t *testing.T) {
	s := newStore(t)
	for _, id := range []string{"jane.leak@example.com", "jane.leak\x00@example.com", "jane.leak@example.com\xff"} {
		calls := map[string]func(tx store.Tx) error{
			"GetUser":    func(tx store.Tx) error { _, err := tx.GetUser(t.Context(), id); return err },
			"DeleteUser": func(tx store.Tx) error { return tx.DeleteUser(t.Context(), id) },
			"SetUserSync": func(tx store.Tx) error {
				return tx.SetUserSync(t.Context(), id, store.SyncState{State: store.SyncSynced})
			},
			"GetGroup":      func(tx store.Tx) error { _, err := tx.GetGroup(t.Context(), id); return err },
			"DeleteGroup":   func(tx store.Tx) error { return tx.DeleteGroup(t.Context(), id) },
			"GroupMembers":  func(tx store.Tx) error { _, err := tx.GroupMembers(t.Context(), id); return err },
			"UserGroups":    func(tx store.Tx) error { _, err := tx.UserGroups(t.Context(), id); return err },
			"AddMembers":    func(tx store.Tx) error { return tx.AddMembers(t.Context(), id, []string{id}) },
			"RemoveMembers": func(tx store.Tx) error { return tx.RemoveMembers(t.Context(), id, []string{id}) },
		}
		for name, call := range calls {
			err := s.Update(t.Context(), call)
			if err != nil {
				require.NotContains(t, err.Error(), "jane.leak", name)
			}
		}
	}
}
