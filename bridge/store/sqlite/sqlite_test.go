package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/sqlite"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

func newStore(t *testing.T) store.Store { return storetest.NewSQLite(t) }

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore)
}

func TestConcurrency(t *testing.T) {
	storetest.RunConcurrency(t, newStore)
}

func BenchmarkListUsersUserNameEq(b *testing.B) {
	storetest.BenchUserNameEq(b, storetest.NewSQLite(b))
}

// TestClosedStoreFailsFast: after Close, transactions and Ping fail at once
// instead of waiting for a connection that will never come back.
func TestClosedStoreFailsFast(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "closed.db"), nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	start := time.Now()
	require.Error(t, s.Ping(t.Context()))
	require.Error(t, s.View(t.Context(), func(store.Tx) error { return nil }))
	require.Error(t, s.Update(t.Context(), func(store.Tx) error { return nil }))
	require.Less(t, time.Since(start), time.Second)
}
